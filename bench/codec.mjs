// In-process decode throughput of a binary-mode CloudEvent: Sluice's codec vs the CloudEvents JS SDK's receiver.
// Also records whether each rejects an event with no id (Sluice never repairs an event by inventing attributes).
import { HTTP } from 'cloudevents';
import { decodeHttp } from '../packages/core/dist/index.js';

const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }));
const headers = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/bench', 'ce-type': 'bench', 'content-type': 'application/json' };

function measure(fn, ms = 1000) {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) for (let i = 0; i < 100; i++, n++) fn();
  return (n / ms) * 1000;
}

function rejects(fn) {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

export async function run() {
  const noId = { ...headers };
  delete noId['ce-id'];
  return [
    { name: 'Sluice decodeHttp', perSec: measure(() => decodeHttp(headers, body)), rejectsMissingId: rejects(() => decodeHttp(noId, body)) },
    {
      name: 'cloudevents SDK HTTP.toEvent',
      perSec: measure(() => HTTP.toEvent({ headers, body: body.toString() })),
      rejectsMissingId: rejects(() => HTTP.toEvent({ headers: noId, body: body.toString() })),
    },
  ];
}
