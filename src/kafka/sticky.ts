// The slot assignment the connectors' consumer group uses (src/kafka/group.ts): balanced
// (every member gets floor(S/M) or ceil(S/M) of the S slots) and sticky (a member keeps
// the slots it already serves, as far as balance allows), so that a member joining or
// leaving moves only the slots that must move. Kafka's round-robin assignment would
// reshuffle most slots at every change, and every moved slot restarts its sessions.
// Pure: no kafkajs, so it is unit-tested directly.

export interface MemberClaim {
  memberId: string;
  /** Slots the member serves now (sent in its join metadata). */
  owned: readonly number[];
}

/**
 * Slots per member. Deterministic for the same input. A slot claimed by two members
 * (a member that missed a rebalance) goes to the one first in member-id order; claims
 * outside 0..slots-1 are ignored.
 */
export function stickyAssign(members: readonly MemberClaim[], slots: number): Map<string, number[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const out = new Map<string, number[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0 || slots <= 0) return out;
  const taken = new Set<number>();
  const kept = new Map<string, number[]>();
  for (const m of sorted) {
    const mine: number[] = [];
    for (const s of [...new Set(m.owned)].sort((a, b) => a - b)) {
      if (!Number.isInteger(s) || s < 0 || s >= slots || taken.has(s)) continue;
      taken.add(s);
      mine.push(s);
    }
    kept.set(m.memberId, mine);
  }
  // Quotas: the members that already hold the most get the larger quotas, so as few
  // slots as possible move.
  const base = Math.floor(slots / sorted.length);
  let larger = slots % sorted.length;
  const byHolding = [...sorted].sort((a, b) => (kept.get(b.memberId)?.length ?? 0) - (kept.get(a.memberId)?.length ?? 0));
  const quota = new Map<string, number>();
  for (const m of byHolding) quota.set(m.memberId, base + (larger-- > 0 ? 1 : 0));
  const pool: number[] = [];
  for (let s = 0; s < slots; s++) if (!taken.has(s)) pool.push(s);
  for (const m of sorted) {
    const mine = kept.get(m.memberId) as number[];
    const q = quota.get(m.memberId) as number;
    while (mine.length > q) pool.push(mine.pop() as number);
  }
  pool.sort((a, b) => a - b);
  for (const m of sorted) {
    const mine = kept.get(m.memberId) as number[];
    const q = quota.get(m.memberId) as number;
    while (mine.length < q && pool.length > 0) mine.push(pool.shift() as number);
    out.set(m.memberId, mine.sort((a, b) => a - b));
  }
  return out;
}

/** Encode a member's owned slots for its join metadata (JSON; small). */
export function encodeClaim(owned: readonly number[]): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, owned: [...owned].sort((a, b) => a - b) }));
}

/** Decode join metadata written by encodeClaim (anything else: no claim). */
export function decodeClaim(data: Buffer | null | undefined): number[] {
  if (!data || data.length === 0) return [];
  try {
    const j = JSON.parse(data.toString('utf8')) as { owned?: unknown };
    return Array.isArray(j.owned) ? j.owned.filter((x): x is number => Number.isInteger(x)) : [];
  } catch {
    return [];
  }
}
