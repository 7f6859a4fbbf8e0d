/** TCP header flags and connection flag bits, re-exported in one place for the engine's files. */
import { TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN } from '../../wire/tcp.js';

export const TH = { ACK: TH_ACK, FIN: TH_FIN, PSH: TH_PSH, RST: TH_RST, SYN: TH_SYN } as const;
export { TF_RECOVERY, TF_SACK, TF_FIN_QUEUED, TF_FIN_ACKED } from './tcb.js';
