// Cross-checks of the tables' redundant structures (indexes, member lists, reference
// counts, claims) against the columns they index. O(n): for tests, and for an operator
// who suspects the replica (lqr), never on a hot path.
import { packedTemplate } from './state.js';
import type { LeaseTables } from './tables.js';

export function checkTables(t: LeaseTables): string[] {
  const problems: string[] = [];
  const res = t.resources;
  const refs = new Map<number, number>();
  const members = new Map<number, number>();
  let count = 0;
  let slots = 0;
  for (let b = 0; b < t.slots; b++) {
    if (!t.inUse(b)) continue;
    count++;
    const tm = t.template[b];
    refs.set(tm, (refs.get(tm) ?? 0) + 1);
    if (tm !== 0) {
      members.set(tm, (members.get(tm) ?? 0) + 1);
    }
    for (const p of t.othersOf(b)) refs.set(packedTemplate(p), (refs.get(packedTemplate(p)) ?? 0) + 1);
    for (let r = t.firstRes[b]; r >= 0; r = res.next[r]) {
      slots++;
      if (res.binding[r] !== b) problems.push(`resource ${r} in binding ${b}'s list belongs to ${res.binding[r]}`);
      const owner = res.ownerOf(r);
      if (owner < 0) problems.push(`resource ${r} of binding ${b} has no owner`);
      if ((owner === r) !== (res.owned[r] === 1)) problems.push(`resource ${r}: owned flag ${res.owned[r]}, index owner ${owner}`);
      if (owner !== r && !res.contendersOf(r).includes(r)) problems.push(`resource ${r} is neither owner nor contender`);
      if (owner === r) for (const c of res.contendersOf(r)) if (t.newer(res.binding[c], b)) problems.push(`resource ${r}: contender ${c} is newer than the owner`);
    }
  }
  for (const c of res.allContenders()) if (res.binding[c] < 0 || res.owned[c]) problems.push(`contender ${c} is free or owned`);
  if (count !== t.count) problems.push(`count ${t.count}, ${count} bindings in use`);
  if (slots !== res.count) problems.push(`resource count ${res.count}, ${slots} slots linked`);
  let linked = 0;
  for (const l of t.links.list) {
    const ids = t.linkList.copy(l.members);
    linked += ids.length;
    for (const b of ids) if (!t.inUse(b) || t.link[b] !== l.id) problems.push(`binding ${b} is listed on link ${l.text} but is not on it`);
  }
  if (linked !== count) problems.push(`${linked} link members for ${count} bindings`);
  for (const tm of t.templates.all()) {
    if (tm.refs === 0) problems.push(`relay template ${tm.id} is kept although no state uses it`);
    if (tm.refs !== (refs.get(tm.id) ?? 0)) problems.push(`relay template ${tm.id}: refs ${tm.refs}, ${refs.get(tm.id) ?? 0} states use it`);
    if (tm.members.size !== (members.get(tm.id) ?? 0)) problems.push(`relay template ${tm.id}: ${tm.members.size} members, ${members.get(tm.id) ?? 0} bindings`);
    const ids = t.templateList.copy(tm.members);
    if (ids.length !== tm.members.size) problems.push(`relay template ${tm.id}: list walk finds ${ids.length} of ${tm.members.size}`);
    for (const b of ids) if (!t.inUse(b) || t.template[b] !== tm.id) problems.push(`binding ${b} is listed under relay template ${tm.id} but does not use it`);
  }
  for (const id of refs.keys()) if (id !== 0 && !t.templates.get(id)) problems.push(`a state uses freed relay template ${id}`);
  return problems;
}
