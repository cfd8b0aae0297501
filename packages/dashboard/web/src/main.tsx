import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, keyOf, openStream, readiness, saveToken, savedToken, whoami, type DeadLetter, type Figures, type Identity, type Resource, type Snapshot } from './api.js';
import { buildTopology, nodeKey, type Node } from './topology.js';
import './styles.css';

const HISTORY = 60;

/** The live snapshot stream, with a short history of each Trigger's/Subscription's delivery rate for sparklines. */
function useStream(token: string | undefined): { snapshot: Snapshot | undefined; history: Map<string, number[]>; connected: boolean } {
  const [snapshot, setSnapshot] = useState<Snapshot>();
  const [connected, setConnected] = useState(false);
  const [history] = useState(() => new Map<string, number[]>());
  // Opened again when the token changes (a page unlocked on an admin API that lets nobody read without one).
  useEffect(() => {
    return openStream(
      'api/stream',
      {
        onState: (open) => setConnected(open),
        onEvent: (name, data) => {
          if (name !== 'snapshot') return;
          const s = JSON.parse(data) as Snapshot;
          for (const r of s.resources ?? []) {
            const f = r.status?.figures;
            if (!f) continue;
            const key = `${r.kind}:${keyOf(r)}`;
            const points = history.get(key) ?? [];
            points.push(f.deliveredPerSecond ?? 0);
            if (points.length > HISTORY) points.shift();
            history.set(key, points);
          }
          setSnapshot(s);
        },
      },
      { reconnect: true },
    );
  }, [token]);
  return { snapshot, history, connected };
}

function Badge({ status }: { status: string }) {
  return <span class={`badge badge-${status.toLowerCase()}`}>{status === 'None' ? '—' : status === 'True' ? 'Ready' : status === 'False' ? 'Not ready' : 'Unknown'}</span>;
}

function Sparkline({ points }: { points: readonly number[] }) {
  const w = 120;
  const h = 24;
  const max = Math.max(1, ...points);
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${((i / Math.max(1, HISTORY - 1)) * w).toFixed(1)},${(h - (p / max) * (h - 2) - 1).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-label="delivered per second">
      <path d={d} />
    </svg>
  );
}

const COLUMN_TITLES = ['Sources', 'Brokers & channels', 'Triggers & subscriptions', 'Subscribers'];

function Topology({ resources, selected, onSelect }: { resources: readonly Resource[]; selected: string | undefined; onSelect: (n: Node) => void }) {
  const { nodes, edges } = useMemo(() => buildTopology(resources), [resources]);
  const W = 220;
  const H = 34;
  const GAP = 14;
  const X0 = 16;
  const COL = 250;
  const rows = [0, 0, 0, 0];
  const pos = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    pos.set(n.id, { x: X0 + n.column * COL, y: 40 + (rows[n.column] ?? 0) * (H + GAP) });
    rows[n.column] = (rows[n.column] ?? 0) + 1;
  }
  const height = 60 + Math.max(1, ...rows) * (H + GAP);
  return (
    <div class="canvas">
      <svg class="topology" width={X0 + 3 * COL + W + 20} height={height} role="img" aria-label="topology">
        {COLUMN_TITLES.map((t, i) => (
          <text class="column-title" x={X0 + i * COL} y={20}>
            {t}
          </text>
        ))}
        {edges.map((e) => {
          const a = pos.get(e.from);
          const b = pos.get(e.to);
          if (!a || !b) return null;
          const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
          const back = x2 <= x1;
          const d = back ? `M${x1},${y1} C${x1 + 60},${y1} ${x2 - 60},${y2} ${x2},${y2}` : `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;
          return <path class={`edge${e.label === 'dead letters' ? ' edge-dls' : ''}`} d={d} />;
        })}
        {nodes.map((n) => {
          const p = pos.get(n.id)!;
          const status = n.resource ? readiness(n.resource) : 'None';
          const f = n.resource?.status?.figures;
          return (
            <g class={`node node-${status.toLowerCase()}${selected === nodeKey(n) ? ' selected' : ''}`} data-node={n.label} onClick={() => onSelect(n)}>
              <rect x={p.x} y={p.y} width={W} height={H} rx={6} />
              <text x={p.x + 10} y={p.y + 15}>
                {n.label.length > 32 ? `${n.label.slice(0, 31)}…` : n.label}
              </text>
              {f && (
                <text class="node-figures" x={p.x + 10} y={p.y + 28}>
                  {`${f.delivered} delivered · ${f.backlog} backlog · ${f.retrying} retrying`}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function age(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/** The subscriber's circuit-breaker state, from the Trigger's `status.circuits`. */
function circuitOf(r: Resource): string {
  return r.status?.circuits?.find((c) => c.role === 'subscriber')?.state ?? '—';
}

function FiguresTable({ resources, history, onSelect }: { resources: readonly Resource[]; history: Map<string, number[]>; onSelect: (r: Resource) => void }) {
  const rows = resources.filter((r) => r.status?.figures);
  if (rows.length === 0) return <p class="empty">No triggers or subscriptions.</p>;
  return (
    <table class="figures">
      <thead>
        <tr>
          <th>Kind</th>
          <th>Name</th>
          <th>Ready</th>
          <th>Delivered</th>
          <th>Failed</th>
          <th>Rate (60 s)</th>
          <th>Backlog</th>
          <th>In flight</th>
          <th>Retrying</th>
          <th>Oldest</th>
          <th>Breaker</th>
          <th>Last error</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const f = r.status!.figures as Figures;
          return (
            <tr data-row={`${r.kind} ${keyOf(r)}`} onClick={() => onSelect(r)}>
              <td>{r.kind}</td>
              <td>{keyOf(r)}</td>
              <td>
                <Badge status={readiness(r)} />
              </td>
              <td class="num" data-figure="delivered">
                {f.delivered}
              </td>
              <td class="num" data-figure="failed">
                {f.failed}
              </td>
              <td>
                <Sparkline points={history.get(`${r.kind}:${keyOf(r)}`) ?? []} /> {(f.deliveredPerSecond ?? 0).toFixed(1)}/s
              </td>
              <td class="num">{f.backlog}</td>
              <td class="num">{f.inFlight}</td>
              <td class="num">{f.retrying}</td>
              <td>{age(f.oldestPendingAgeMs)}</td>
              <td>{circuitOf(r)}</td>
              <td class="error">{f.lastError ? `${f.lastError.reason || String(f.lastError.status ?? 'transport error')} (${new Date(f.lastError.time).toLocaleTimeString()})` : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Detail({ resource, onClose }: { resource: Resource; onClose: () => void }) {
  const f = resource.status?.figures;
  return (
    <aside class="detail" aria-label="details">
      <header>
        <h2>
          {resource.kind} {keyOf(resource)}
        </h2>
        <button onClick={onClose} aria-label="close">
          ×
        </button>
      </header>
      <p class="muted">
        {resource.apiVersion}
        {resource.source ? ` · from ${resource.source}` : ''}
      </p>
      <h3>Conditions</h3>
      <table>
        <tbody>
          {(resource.status?.conditions ?? []).map((c) => (
            <tr>
              <td>{c.type}</td>
              <td>
                <Badge status={c.status} />
              </td>
              <td>{c.reason ?? ''}</td>
              <td class="muted">{c.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {f && (
        <>
          <h3>Figures</h3>
          <pre>{JSON.stringify(f, null, 2)}</pre>
        </>
      )}
      <h3>Spec</h3>
      <pre>{JSON.stringify(resource.spec ?? {}, null, 2)}</pre>
    </aside>
  );
}

/** Event data for reading: JSON pretty-printed, anything else as it is. */
function prettyData(data: unknown): string {
  if (data === undefined) return '(none)';
  if (typeof data !== 'string') return JSON.stringify(data, null, 2);
  try {
    return JSON.stringify(JSON.parse(data), null, 2);
  } catch {
    return data;
  }
}

/** Why an action button is disabled on a read-only page. */
const READ_ONLY_HINT = 'read-only: replay and purge need an edit token (Unlock, top right)';

function DeadLetters({ canEdit }: { canEdit: boolean }) {
  const [brokers, setBrokers] = useState<{ broker: string; count: number; dropped: number }[]>([]);
  const [broker, setBroker] = useState<string>();
  const [filter, setFilter] = useState('');
  const [letters, setLetters] = useState<DeadLetter[]>([]);
  const [open, setOpen] = useState<DeadLetter>();
  const [message, setMessage] = useState('');
  const refresh = async (b = broker): Promise<void> => {
    try {
      const list = await api.deadLetterBrokers();
      setBrokers(list.items);
      const chosen = b ?? list.items[0]?.broker;
      setBroker(chosen);
      if (chosen) setLetters((await api.deadLetters(chosen, filter)).items);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  useEffect(() => void refresh(), [canEdit]);
  const act = async (verb: 'replay' | 'purge', ids: number[]): Promise<void> => {
    if (!broker) return;
    if (!window.confirm(`${verb === 'replay' ? 'Replay' : 'Purge'} ${ids.length} dead letter${ids.length === 1 ? '' : 's'} of ${broker}?`)) return;
    try {
      const r = verb === 'replay' ? await api.replay(broker, ids) : await api.purge(broker, ids);
      setOpen(undefined);
      await refresh();
      setMessage(verb === 'replay' ? `replayed ${'replayed' in r ? r.replayed : 0}, failed again ${'failed' in r ? r.failed : 0}` : `purged ${'purged' in r ? r.purged : 0}`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <section>
      <div class="toolbar">
        <select value={broker} onChange={(e) => void refresh((e.target as HTMLSelectElement).value)} aria-label="broker">
          {brokers.map((b) => (
            <option value={b.broker}>{`${b.broker} (${b.count})`}</option>
          ))}
        </select>
        <input placeholder="CESQL filter, e.g. type = 'order.created'" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} aria-label="filter" />
        <button onClick={() => void refresh()}>Search</button>
        <button
          disabled={!canEdit || letters.length === 0}
          title={canEdit ? undefined : READ_ONLY_HINT}
          onClick={() =>
            void act(
              'replay',
              letters.map((l) => l.id),
            )
          }
        >
          Replay all shown
        </button>
        <button
          disabled={!canEdit || letters.length === 0}
          title={canEdit ? undefined : READ_ONLY_HINT}
          class="danger"
          onClick={() =>
            void act(
              'purge',
              letters.map((l) => l.id),
            )
          }
        >
          Purge all shown
        </button>
      </div>
      {!canEdit && <p class="hint">Read-only: replay and purge need an edit token. Use Unlock (top right).</p>}
      {message && (
        <p class="message" role="status">
          {message}
        </p>
      )}
      {letters.length === 0 ? (
        <p class="empty">No dead letters{broker ? ` in ${broker}` : ''}.</p>
      ) : (
        <table class="figures">
          <thead>
            <tr>
              <th>Id</th>
              <th>Event</th>
              <th>Type</th>
              <th>Trigger</th>
              <th>Reason</th>
              <th>Attempts</th>
              <th>Stored</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {letters.map((l) => (
              <tr data-letter={String(l.event.attributes['id'])}>
                <td>{l.id}</td>
                <td>{String(l.event.attributes['id'])}</td>
                <td>{String(l.event.attributes['type'])}</td>
                <td>{l.trigger}</td>
                <td class="error">{l.reason}</td>
                <td class="num">{l.attempts}</td>
                <td>{new Date(l.storedAt).toLocaleString()}</td>
                <td>
                  <button onClick={() => setOpen(l)}>Inspect</button>{' '}
                  <button disabled={!canEdit} title={canEdit ? undefined : READ_ONLY_HINT} onClick={() => void act('replay', [l.id])}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <aside class="detail" aria-label="dead letter">
          <header>
            <h2>Dead letter {open.id}</h2>
            <button onClick={() => setOpen(undefined)} aria-label="close">
              ×
            </button>
          </header>
          <p class="error">{open.reason}</p>
          <h3>Attributes</h3>
          <pre>{JSON.stringify(open.event.attributes, null, 2)}</pre>
          <h3>Data</h3>
          <pre>{prettyData(open.event.data)}</pre>
        </aside>
      )}
    </section>
  );
}

/** An EventType's type and source: v1beta2 has them as fields, v1beta3 as attributes. */
function typeAndSource(r: Resource): { type: string; source: string } {
  const spec = (r.spec ?? {}) as { type?: string; source?: string; attributes?: { name: string; value?: string }[] };
  const attr = (name: string): string => spec.attributes?.find((a) => a.name === name)?.value ?? '';
  return { type: spec.type ?? attr('type'), source: spec.source ?? attr('source') };
}

function EventTypes({ resources }: { resources: readonly Resource[] }) {
  const types = resources.filter((r) => r.kind === 'EventType');
  if (types.length === 0) return <p class="empty">No event types declared or seen yet.</p>;
  return (
    <table class="figures">
      <thead>
        <tr>
          <th>Type</th>
          <th>Source</th>
          <th>Reference</th>
          <th>Origin</th>
          <th>Seen</th>
          <th>First seen</th>
          <th>Last seen</th>
        </tr>
      </thead>
      <tbody>
        {types.map((r) => {
          const { type, source } = typeAndSource(r);
          const ref = (r.spec as { reference?: { kind?: string; name?: string } } | undefined)?.reference;
          const st = r.status as { count?: number; firstSeen?: string; lastSeen?: string } | undefined;
          return (
            <tr data-eventtype={type}>
              <td>{type}</td>
              <td>{source}</td>
              <td>{ref ? `${ref.kind ?? ''} ${ref.name ?? ''}` : '—'}</td>
              <td>{st?.count !== undefined ? 'seen at ingress' : 'declared'}</td>
              <td class="num">{st?.count ?? '—'}</td>
              <td>{st?.firstSeen ? new Date(st.firstSeen).toLocaleString() : '—'}</td>
              <td>{st?.lastSeen ? new Date(st.lastSeen).toLocaleString() : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

interface TailedEvent {
  readonly at: string;
  readonly attributes: Record<string, unknown>;
  readonly data?: string;
  readonly data_base64?: string;
}

const TAIL_KEEP = 200;

/** The trace id of an event's W3C traceparent, if it carries one. */
/** An attribute as text ('' when absent). */
const attr = (e: TailedEvent, name: string): string => {
  const v = e.attributes[name];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
};

function traceId(e: TailedEvent): string | undefined {
  const tp = e.attributes['traceparent'];
  return typeof tp === 'string' ? tp.split('-')[1] : undefined;
}

function EventsTail({ resources }: { resources: readonly Resource[] }) {
  // `ns/name` for brokers, `channel ns/name` for channels: the admin API's tail route differs by family.
  const ingresses = resources.filter((r) => ['Broker', 'Channel', 'InMemoryChannel', 'KafkaChannel'].includes(r.kind)).map((r) => (r.kind === 'Broker' ? keyOf(r) : `channel ${keyOf(r)}`));
  const [at, setAt] = useState<string>();
  const [filter, setFilter] = useState('');
  const [running, setRunning] = useState<() => void>();
  const [events, setEvents] = useState<TailedEvent[]>([]);
  const [open, setOpen] = useState<TailedEvent>();
  const [message, setMessage] = useState('');
  const target = at ?? ingresses[0];
  const stop = (): void => {
    running?.();
    setRunning(undefined);
  };
  useEffect(() => () => running?.(), [running]);
  const start = (): void => {
    stop();
    if (!target) return;
    // The admin API's tail (the one `sluice tail` uses), on the same origin as the dashboard.
    const [family, key] = target.startsWith('channel ') ? ['channels', target.slice(8)] : ['brokers', target];
    const url = `../api/v1/${family}/${key}/events${filter.trim() ? `?${new URLSearchParams({ filter }).toString()}` : ''}`;
    setEvents([]);
    // A bad filter is a 400 with the reason, which the stream reports as its end.
    const close = openStream(
      url,
      {
        onState: (open, error) => {
          if (open) setMessage(`tailing ${target}${filter.trim() ? ` where ${filter}` : ''}`);
          else if (error !== undefined) {
            setMessage(error);
            setRunning(undefined);
          }
        },
        onEvent: (name, data) => {
          if (name === 'cloudevent') setEvents((list) => [JSON.parse(data) as TailedEvent, ...list].slice(0, TAIL_KEEP));
          else if (name === 'skipped') setMessage(`the page fell behind: ${data} events skipped`);
        },
      },
      { reconnect: false },
    );
    setRunning(() => close);
  };
  return (
    <section>
      <div class="toolbar">
        <select value={target} onChange={(e) => setAt((e.target as HTMLSelectElement).value)} aria-label="ingress">
          {ingresses.map((k) => (
            <option value={k}>{k}</option>
          ))}
        </select>
        <input placeholder="CESQL filter, e.g. type LIKE 'order.%'" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} aria-label="tail filter" />
        {running ? <button onClick={stop}>Stop</button> : <button onClick={start}>Start</button>}
      </div>
      {message && (
        <p class="message" role="status">
          {message}
        </p>
      )}
      {events.length === 0 ? (
        <p class="empty">{running ? 'Waiting for events…' : 'Choose a broker and start the tail: events accepted from then on appear here.'}</p>
      ) : (
        <table class="figures">
          <thead>
            <tr>
              <th>Time</th>
              <th>Id</th>
              <th>Type</th>
              <th>Source</th>
              <th>Subject</th>
              <th>Trace</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr data-tailed={String(e.attributes['id'])} onClick={() => setOpen(e)}>
                <td>{attr(e, 'knativearrivaltime') || attr(e, 'time')}</td>
                <td>{attr(e, 'id')}</td>
                <td>{attr(e, 'type')}</td>
                <td>{attr(e, 'source')}</td>
                <td>{attr(e, 'subject')}</td>
                <td class="muted">{traceId(e) ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <aside class="detail" aria-label="event">
          <header>
            <h2>Event {String(open.attributes['id'])}</h2>
            <button onClick={() => setOpen(undefined)} aria-label="close">
              ×
            </button>
          </header>
          <p class="muted">
            {open.at}
            {traceId(open) ? ` · trace ${traceId(open)}` : ''}
          </p>
          <h3>Attributes</h3>
          <pre>{JSON.stringify(open.attributes, null, 2)}</pre>
          <h3>Data</h3>
          <pre>{open.data_base64 !== undefined ? `(base64) ${open.data_base64}` : prettyData(open.data)}</pre>
        </aside>
      )}
    </section>
  );
}

type Tab = 'topology' | 'figures' | 'events' | 'deadletters' | 'eventtypes';
const TABS: Record<Tab, string> = { topology: 'Topology', figures: 'Triggers & subscriptions', events: 'Events', deadletters: 'Dead letters', eventtypes: 'Event types' };

/**
 * What this page may do, and the Unlock form: without an edit token the page shows everything and its actions are
 * disabled; a token typed here is checked with whoami and kept in sessionStorage for this tab only.
 */
function useIdentity(): { identity: Identity | undefined; token: string | undefined; checked: boolean; unlock: (token: string) => Promise<string>; lock: () => void } {
  const [token, setToken] = useState(savedToken());
  const [identity, setIdentity] = useState<Identity>();
  const [checked, setChecked] = useState(false);
  useEffect(() => {
    void whoami(token).then((id) => {
      setIdentity(id);
      setChecked(true);
    });
  }, [token]);
  const unlock = async (candidate: string): Promise<string> => {
    const id = await whoami(candidate);
    if (!id) return REFUSED;
    saveToken(candidate);
    setToken(candidate);
    return id.role === 'edit' ? '' : 'this token can only view';
  };
  const lock = (): void => {
    saveToken(undefined);
    setToken(undefined);
  };
  return { identity, token, checked, unlock, lock };
}

const REFUSED = 'this token is not accepted';

function AuthBar({ auth }: { auth: ReturnType<typeof useIdentity> }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const [message, setMessage] = useState('');
  const canEdit = auth.identity?.role === 'edit';
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const why = await auth.unlock(value.trim());
    setMessage(why);
    // A token that is accepted closes the form (a view-only one says so beside the badge); a refused one keeps it open.
    if (why !== REFUSED) {
      setOpen(false);
      setValue('');
    }
  };
  const mode = !auth.identity ? 'locked' : canEdit ? 'can change' : 'read-only';
  return (
    <div class="auth">
      <span class={`badge auth-${canEdit ? 'edit' : 'view'}`} data-auth={mode}>
        {mode}
      </span>
      {auth.token !== undefined && !auth.identity?.anonymous && <button onClick={auth.lock}>Lock</button>}
      {!canEdit && <button onClick={() => setOpen(!open)}>Unlock</button>}
      {message && !canEdit && (
        <span class="auth-message" role="alert">
          {message}
        </span>
      )}
      {(open || (auth.checked && !auth.identity)) && !canEdit && (
        <form class="unlock" onSubmit={(e) => void submit(e)}>
          <input type="password" autocomplete="off" placeholder="admin token" aria-label="admin token" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          <button type="submit">Use token</button>
        </form>
      )}
    </div>
  );
}

function App() {
  const auth = useIdentity();
  const { snapshot, history, connected } = useStream(auth.token);
  const [tab, setTab] = useState<Tab>('topology');
  const [selected, setSelected] = useState<string>();
  const resources = snapshot?.resources ?? [];
  const chosen = resources.find((r) => `${r.kind}:${keyOf(r)}` === selected);
  return (
    <>
      <header class="top">
        <h1>Sluice</h1>
        <nav>
          {(Object.keys(TABS) as Tab[]).map((t) => (
            <button class={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
              {TABS[t]}
            </button>
          ))}
        </nav>
        <span class={`live ${connected ? 'on' : 'off'}`}>{connected ? 'live' : 'disconnected'}</span>
        {snapshot?.ready && <span class={`badge badge-${snapshot.ready.ready ? 'true' : 'false'}`}>{snapshot.ready.ready ? 'all ready' : `${snapshot.ready.reasons.length} not ready`}</span>}
        <AuthBar auth={auth} />
      </header>
      {auth.checked && !auth.identity && (
        <p class="hint">
          This admin API shows nothing without a token: enter one above (<code>sluice run</code> keeps one in its data dir, file <code>admin-token</code>).
        </p>
      )}
      <main>
        {tab === 'topology' && <Topology resources={resources} selected={selected} onSelect={(n) => n.resource && setSelected(nodeKey(n))} />}
        {tab === 'figures' && <FiguresTable resources={resources} history={history} onSelect={(r) => setSelected(`${r.kind}:${keyOf(r)}`)} />}
        {tab === 'events' && <EventsTail resources={resources} />}
        {tab === 'deadletters' && <DeadLetters key={auth.token ?? ''} canEdit={auth.identity?.role === 'edit'} />}
        {tab === 'eventtypes' && <EventTypes resources={resources} />}
        {chosen && (tab === 'topology' || tab === 'figures') && <Detail resource={chosen} onClose={() => setSelected(undefined)} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
