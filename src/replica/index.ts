// The replica (issue 6): lq.events -> projection -> leasequery (UDP, Bulk, Active) and HTTP.
export { Replica, type ReplicaOptions, type ReplicaStatus } from './replica.js';
export { startReplicaHttp, bindingJson, queryFromParams, type ReplicaHttp, type ReplicaHttpOptions } from './http.js';
export { kafkaHistory, type KafkaHistoryOptions } from './history.js';
export { loadOrCreateServerDuid, generateServerDuid } from './identity.js';
