import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { SluiceError, redactUrl } from '@sluice/core';

/** Where deliveries may go: entries are an IP, a CIDR (`10.0.0.0/8`, `fd00::/8`) or a host name. */
export interface EgressRules {
  /** Denied on top of {@link DEFAULT_EGRESS_DENY}. */
  deny?: readonly string[];
  /** Exempt from every deny entry, the defaults included (e.g. a link-local subscriber you mean to reach). */
  allow?: readonly string[];
}

/**
 * Denied by default: link-local addresses (where every cloud's instance-metadata service answers with credentials)
 * and the metadata services' names and other well-known addresses.
 */
export const DEFAULT_EGRESS_DENY: readonly string[] = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254', '100.100.100.200', 'metadata.google.internal', 'metadata.goog'];

interface CompiledList {
  readonly ips: BlockList;
  readonly hosts: ReadonlySet<string>;
}

const normalHost = (host: string): string =>
  host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');

function compile(entries: readonly string[]): CompiledList {
  const ips = new BlockList();
  const hosts = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    const slash = entry.indexOf('/');
    const addr = slash < 0 ? normalHost(entry) : entry.slice(0, slash);
    const family = isIP(addr);
    if (family === 0) {
      if (slash >= 0 || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(addr)) {
        throw new SluiceError('SLUICE_EGRESS_RULE_INVALID', `egress rule ${JSON.stringify(raw)} is not an IP address, a CIDR or a host name`);
      }
      hosts.add(addr);
      continue;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      ips.addAddress(addr, type);
    } else {
      const prefix = Number(entry.slice(slash + 1));
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new SluiceError('SLUICE_EGRESS_RULE_INVALID', `egress rule ${JSON.stringify(raw)} has a bad prefix length`);
      }
      ips.addSubnet(addr, prefix, type);
    }
  }
  return { ips, hosts };
}

/**
 * Decides whether deliveries may reach an address. URLs are checked by host when they are resolved (the WHATWG URL
 * parser has already turned decimal, hex and octal IPv4 forms into dotted quads), and every connection's DNS answer is
 * checked again through {@link EgressGuard.lookup}, so a name that resolves to a denied address is refused too.
 */
export class EgressGuard {
  readonly #deny: CompiledList;
  readonly #allow: CompiledList;

  constructor(rules: EgressRules = {}) {
    this.#deny = compile([...DEFAULT_EGRESS_DENY, ...(rules.deny ?? [])]);
    this.#allow = compile(rules.allow ?? []);
  }

  /** Why a host (name or IP literal) is denied, or undefined when it is allowed. */
  deniedHost(host: string): string | undefined {
    const h = normalHost(host);
    const family = isIP(h);
    if (family === 0) {
      if (this.#allow.hosts.has(h)) return undefined;
      return this.#deny.hosts.has(h) ? `host ${h} is denied by the egress rules` : undefined;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.#allow.ips.check(h, type)) return undefined;
    return this.#deny.ips.check(h, type) ? `address ${h} is denied by the egress rules (link-local and cloud metadata addresses are denied by default)` : undefined;
  }

  /** Throws SLUICE_DESTINATION_FORBIDDEN when a URL's host is denied. */
  checkUrl(url: string | URL): void {
    const u = typeof url === 'string' ? new URL(url) : url;
    const why = this.deniedHost(u.hostname);
    if (why) throw new SluiceError('SLUICE_DESTINATION_FORBIDDEN', `destination ${redactUrl(u)} refused: ${why}`);
  }

  /** A `dns.lookup` for net/tls connect that refuses names resolving to denied addresses. */
  readonly lookup = (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    const nameDenied = this.deniedHost(hostname);
    if (nameDenied) {
      callback(Object.assign(new Error(nameDenied), { code: 'SLUICE_DESTINATION_FORBIDDEN' }), '', 0);
      return;
    }
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const list = addresses;
      for (const a of list) {
        const why = this.deniedHost(a.address);
        if (why) {
          callback(Object.assign(new Error(`${hostname} resolves to ${a.address}: ${why}`), { code: 'SLUICE_DESTINATION_FORBIDDEN' }), '', 0);
          return;
        }
      }
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
