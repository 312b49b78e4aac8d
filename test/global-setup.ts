// Global set-up for the test run. The Kafka broker is added by the Kafka layer.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
