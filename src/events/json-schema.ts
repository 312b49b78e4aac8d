// JSON Schemas of the events, generated from the zod types (the single source of truth).
import { z } from 'zod';
import { BindingEvent, LqEvent, SourceEvent } from './model.js';

export function eventJsonSchemas(): Record<string, unknown> {
  const gen = (schema: z.ZodType, id: string, title: string) => ({
    $id: `https://lq-replicator.dev/schemas/${id}`,
    title,
    ...z.toJSONSchema(schema, { target: 'draft-2020-12' }),
  });
  return {
    'lq-event.schema.json': gen(LqEvent, 'lq-event.schema.json', 'An event on lq.events (binding or source)'),
    'binding-event.schema.json': gen(BindingEvent, 'binding-event.schema.json', 'binding: one OPTION_CLIENT_DATA as one source reported it'),
    'source-event.schema.json': gen(SourceEvent, 'source-event.schema.json', 'source: a session lifecycle change of one DHCPv6 server'),
  };
}
