// Leasequery: the server engine (over a LeaseView) and the requestor library.
export * from './view.js';
export * from './server/index.js';
export * from './requestor/index.js';
