// The links bindings are on, interned to numeric ids. A link is named by the 16-byte
// link-address the server identified the client's link by (the innermost non-zero relay
// link-address, RFC 8415 section 13.1; :: for clients that talked to the server
// directly). There are few links (thousands) and many bindings on each, so a link's
// members are a list threaded through the binding table (member-list.ts) and each
// binding stores a 4-byte link id.
import { formatIPv6 } from '../protocol/index.js';
import { emptyList, type MemberList } from './member-list.js';
import { ipv6Into } from './text.js';

export interface LinkInfo {
  readonly id: number;
  /** The link-address as a latin1 string (16 chars). */
  readonly key: string;
  /** The link-address; shared by every Binding on the link: do not mutate. */
  readonly address: Buffer;
  readonly text: string;
  readonly members: MemberList;
}

const scratch = Buffer.alloc(16);

export class Links {
  readonly list: LinkInfo[] = [];
  private readonly byKey = new Map<string, LinkInfo>();
  /** Event text -> link: events repeat the same few link texts millions of times. */
  private readonly byText = new Map<string, LinkInfo>();

  /** The link named by IPv6 text, created when new. */
  internText(text: string): LinkInfo {
    let l = this.byText.get(text);
    if (l) return l;
    ipv6Into(text, scratch, 0);
    l = this.internKey(scratch.toString('latin1'));
    if (this.byText.size < 1_000_000) this.byText.set(text, l);
    return l;
  }

  /** The link with this 16-byte key, created when new. */
  internKey(key: string): LinkInfo {
    let l = this.byKey.get(key);
    if (!l) {
      const address = Buffer.from(key, 'latin1');
      l = { id: this.list.length, key, address, text: formatIPv6(address), members: emptyList() };
      this.list.push(l);
      this.byKey.set(key, l);
    }
    return l;
  }

  /** The link with this link-address, if any binding was ever on it. */
  find(address: Buffer): LinkInfo | undefined {
    return address.length === 16 ? this.byKey.get(address.toString('latin1')) : undefined;
  }

  findText(text: string): LinkInfo | undefined {
    const l = this.byText.get(text);
    if (l) return l;
    ipv6Into(text, scratch, 0);
    return this.byKey.get(scratch.toString('latin1'));
  }
}
