// Every JSON Schema the project publishes in schemas/, by file name.
import { eventJsonSchemas } from '../events/json-schema.js';

export function allJsonSchemas(): Record<string, unknown> {
  return { ...eventJsonSchemas() };
}
