/** Counters of neighbour discovery, DAD and SLAAC (`stats.nd6`). Every dropped ND message has one. */
export function createNd6Stats() {
  return {
    // Received, by type, before validation.
    rsIn: 0, raIn: 0, nsIn: 0, naIn: 0, redirectIn: 0,
    // Sent.
    rsOut: 0, nsOut: 0, naOut: 0,
    // §7.1.1/§7.1.2/§6.1.2/§8.1 validation failures: hop limit not 255, code not 0, too short,
    // a zero-length or overrunning option, a bad source or target (multicast target, unspecified
    // source with an SLLA or to a non-solicited-node group, RA/redirect from a non-link-local source,
    // solicited NA to a multicast destination).
    badHopLimit: 0, badCode: 0, badLength: 0, badOptions: 0, badAddress: 0,
    // NS for an address that is not ours; RS (we are a host, §6.2.6); redirects (ipv6AcceptRedirects off
    // or not from our first hop); an NA for one of our preferred addresses (someone else claims it).
    notForUs: 0, rsIgnored: 0, redirectsIgnored: 0, redirectsApplied: 0, addressClaimed: 0,
    // Neighbour cache: created entries evicted for room, resolutions that gave up.
    cacheEvictions: 0, resolveFailed: 0,
    // Parked frames: kept while resolving; dropped (per-entry bound, pool full, resolution failed).
    queued: 0, queueDropped: 0,
    // No usable source address for a solicitation (every address still tentative).
    noSource: 0,
    // Router advertisements: default routers learned, MTU option applied or refused.
    routersLearned: 0, mtuApplied: 0, mtuIgnored: 0,
    // DAD (RFC 4862 §5.4): addresses that passed, conflicts (address not used).
    dadPassed: 0, dadConflicts: 0,
    // SLAAC (RFC 4862 §5.5.3): addresses formed, prefix options ignored (no A flag, link-local,
    // preferred > valid, prefix length + 64 != 128), no free address slot, lifetimes ended.
    slaacAddresses: 0, prefixIgnored: 0, slaacNoSlot: 0, addressesExpired: 0, addressesDeprecated: 0,
    // RDNSS (RFC 8106): servers learned, dropped for lack of room, expired.
    rdnssLearned: 0, rdnssFull: 0, rdnssExpired: 0,
  };
}

export type Nd6Stats = ReturnType<typeof createNd6Stats>;
