// The requestor's own DUID (RFC 5007 section 4.3.1: "The requestor MUST include an
// OPTION_CLIENTID option to identify itself to the server").
import { hostname } from 'node:os';

/** Example enterprise number of RFC 5612; a deployment should configure its own DUID. */
const LQR_ENTERPRISE = 32473;

/** A stable DUID-EN (RFC 8415 section 11.3) for this host: enterprise 32473, id "lqr/<hostname>". */
export function defaultRequestorDuid(): Buffer {
  const id = Buffer.from(`lqr/${hostname()}`.slice(0, 120), 'utf8');
  const duid = Buffer.alloc(6 + id.length);
  duid.writeUInt16BE(2, 0);
  duid.writeUInt32BE(LQR_ENTERPRISE, 2);
  id.copy(duid, 6);
  return duid;
}
