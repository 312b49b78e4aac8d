// The sources (DHCPv6 servers) seen in events, interned to small numeric ids: a binding
// state stores 2 bytes for its source instead of the name.
import { ProjectionInputError } from './errors.js';

export interface SourceInfo {
  readonly id: number;
  readonly name: string;
  /** The server DUID (hex) from the latest event that carried one. */
  serverDuid: string | null;
}

const MAX_SOURCES = 0xffff;

export class Sources {
  private readonly byName = new Map<string, SourceInfo>();
  readonly list: SourceInfo[] = [];

  intern(name: string, serverDuid: string | null = null): number {
    let s = this.byName.get(name);
    if (!s) {
      if (this.list.length >= MAX_SOURCES) throw new ProjectionInputError(`more than ${MAX_SOURCES} sources: source '${name}' does not fit`);
      s = { id: this.list.length, name, serverDuid };
      this.byName.set(name, s);
      this.list.push(s);
    } else if (serverDuid !== null && s.serverDuid !== serverDuid) {
      s.serverDuid = serverDuid;
    }
    return s.id;
  }

  find(name: string): number | undefined {
    return this.byName.get(name)?.id;
  }

  name(id: number): string {
    return this.list[id].name;
  }

  get size(): number {
    return this.list.length;
  }
}
