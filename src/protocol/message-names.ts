// Display names of msg-types, for JSON and error paths. The leasequery types come from
// constants.ts; the RFC 8415 client/server types are named too because they appear
// inside OPTION_RELAY_MSG of relay chains.
import { messageTypeName } from './constants.js';

const RFC8415_NAMES: readonly string[] = [
  '',
  'SOLICIT',
  'ADVERTISE',
  'REQUEST',
  'CONFIRM',
  'RENEW',
  'REBIND',
  'REPLY',
  'RELEASE',
  'DECLINE',
  'RECONFIGURE',
  'INFORMATION-REQUEST',
];

/** 'LEASEQUERY-DATA', 'RELAY-FORW', 'SOLICIT', ... or 'UNKNOWN-<n>'. */
export function displayMessageType(code: number): string {
  return code > 0 && code < RFC8415_NAMES.length ? RFC8415_NAMES[code] : messageTypeName(code);
}
