/**
 * WireGuard's protocol constants (the paper, section 6, and the Linux
 * driver's messages.h). Times are in milliseconds.
 */

export const MSG_INITIATION = 1;
export const MSG_RESPONSE = 2;
export const MSG_COOKIE_REPLY = 3;
export const MSG_DATA = 4;

export const REKEY_AFTER_MESSAGES = 2 ** 60;
/** 2^64 − 2^13 − 1 is beyond a double's integers; counters stop far earlier (2^53) in practice. */
export const REJECT_AFTER_MESSAGES = Number.MAX_SAFE_INTEGER - 8192;
export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
/** Up to this much random jitter is added to each handshake retransmission. */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_SECRET_MAX_AGE = 120_000;
/** A received cookie is used for mac2 only while younger than this (the latency allowance). */
export const COOKIE_USABLE_AGE = COOKIE_SECRET_MAX_AGE - 5_000;
/** Linux: MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Linux accepts one initiation per peer per 1 s / INITIATIONS_PER_SECOND. */
export const INITIATION_MIN_INTERVAL = 20;
/** Handshake and data padding unit. */
export const PADDING_MULTIPLE = 16;
export const TAG_LEN = 16;
export const DATA_HEADER_LEN = 16;
/** A keepalive is a data message with an empty payload. */
export const KEEPALIVE_LEN = DATA_HEADER_LEN + TAG_LEN;

export const LABEL_MAC1 = new TextEncoder().encode('mac1----');
export const LABEL_COOKIE = new TextEncoder().encode('cookie--');
