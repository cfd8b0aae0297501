import { channelPlugin } from '@sluice/channel';
import { eventTypePlugin } from '@sluice/eventtypes';
import { jobSinkPlugin } from '@sluice/jobsink';
import { kafkaSinkPlugin } from '@sluice/kafka-sink';
import { kafkaSourcePlugin } from '@sluice/kafka-source';
import { kafkaBrokerPlugin } from '@sluice/kafka-store';
import type { SluicePlugin } from '@sluice/plugin';
import { pubsubSourcePlugin } from '@sluice/pubsub-source';
import { sinkBindingInjector, sourcesPlugin } from '@sluice/sources';
import { transformPlugin } from '@sluice/transform';
import { workloadsPlugin } from '@sluice/workloads';

/**
 * Every plugin this build of `sluice` runs, in the order their checks and components apply. Add a package's plugin
 * here (and nowhere else) to make `sluice run` and `sluice validate` serve its kinds.
 */
export const PLUGINS: readonly SluicePlugin[] = [
  // Workloads first: the subscribers are up before the sources start sending. SinkBindings of the same configuration
  // bind them.
  workloadsPlugin({ injectors: (config) => [sinkBindingInjector(config)] }),
  sourcesPlugin,
  kafkaSourcePlugin,
  pubsubSourcePlugin,
  channelPlugin,
  kafkaBrokerPlugin,
  transformPlugin,
  kafkaSinkPlugin,
  eventTypePlugin,
  jobSinkPlugin,
];
