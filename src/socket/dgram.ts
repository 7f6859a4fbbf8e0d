/** Placeholder: replaced by the node:dgram-compatible facade. */
import type { SocketApi } from './api.js';

export class DgramFacade {
  constructor(readonly api: SocketApi) {}
}
