// The lab DHCPv6 server: authoritative lease database, workload generator, leasequery engine.
export { LabServer, createLabServers, type LabMode, type LabServerOptions } from './lab-server.js';
export { LeaseDb, type LeaseRecord, type ChangeKind } from './db.js';
export { LabLeaseView } from './view.js';
export { Topology, type TopologyConfig, type ClientKind, type LinkInfo } from './topology.js';
export { Workload, DEFAULT_MIX, type BurstKind, type WorkloadMix } from './workload.js';
export { Prng, deriveSeed } from './prng.js';
export { dumpBindings, type BindingsDump, type DumpedBinding } from './dump.js';
export { saveState, loadState } from './persist.js';
export { startAdmin } from './admin.js';
