/**
 * BrokerNames builds the names Backplane uses on shared brokers. With BACKPLANE_NAMESPACE set,
 * every Redis key and channel starts with `<namespace>:` and every RabbitMQ exchange and queue with
 * `<namespace>.`, so two deployments can share one Redis and one RabbitMQ without reading each
 * other's cache, events, limits or jobs. Without it the names are the historical ones.
 * Anything that adds a Redis key or a RabbitMQ name builds it here.
 */
export interface BrokerNames {
  readonly namespace: string
  /** redis names a Redis key or pub/sub channel. */
  redis: (name: string) => string
  /** amqp names a RabbitMQ exchange or queue. */
  amqp: (name: string) => string
}

/** brokerNames returns the naming of one deployment (namespace '' = no prefix). */
export function brokerNames (namespace: string): BrokerNames {
  return {
    namespace,
    redis: (name) => namespace === '' ? name : `${namespace}:${name}`,
    amqp: (name) => namespace === '' ? name : `${namespace}.${name}`
  }
}
