// kafkajs is CommonJS: Node's ESM loader cannot see all of its named exports, so its
// runtime values come through the default export here. Types are imported directly.
// Installed first: kafkajs's consumer binds its aborted-transaction filter when it loads.
import './kafkajs-fix.js';
import kafkajs from 'kafkajs';

export const { Kafka, logLevel, Partitioners, CompressionTypes, AssignerProtocol, ConfigResourceTypes } = kafkajs;
