export * from './bytes.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4addr.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
