export type { FrameReceiver, Link, LinkStats } from './link.js';
export { ETH_HEADER_LEN } from './link.js';
export { MemoryLink } from './memory-link.js';
export type { LinkFaultCounters, MemoryLinkFaults, MemoryLinkOptions } from './memory-link.js';
export { PcapWriter } from './pcap-writer.js';
export type { PcapSink, PcapWriterOptions } from './pcap-writer.js';
export { Prng } from '../engine/prng.js';
export { FaultLink } from './fault-link.js';
export type { FaultOptions, FaultCounters } from './fault-link.js';
