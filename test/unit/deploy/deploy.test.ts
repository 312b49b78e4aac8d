// Static checks of the deployment files (Dockerfile, deploy/compose, deploy/k8s,
// deploy/systemd): they parse, they are consistent with each other, every `lqr`
// invocation is one the CLI accepts, and every connector configuration passes the
// project's own loader. Nothing here starts a container, a cluster or a unit: see
// deploy/README.md for what was and was not exercised.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ConfigError, loadConnectorConfig, resolveConnectorConfig, type ConnectorConfig } from '../../../src/config/index.js';
import { Deployment, KINDS, Kustomization, type ConfigMapT, type ContainerT, type DeploymentT, type Kind, type PdbT, type SecretT, type ServiceT } from './k8s-schema.js';
import { expectLqrAccepts, flagValue } from './lqr-args.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const at = (...p: string[]) => join(ROOT, ...p);
const read = (...p: string[]) => readFileSync(at(...p), 'utf8');

function filesUnder(dir: string): string[] {
  return (readdirSync(at(dir), { recursive: true }) as string[])
    .map((f) => posix.join(dir, f.split('\\').join('/')))
    .filter((f) => statSync(at(f)).isFile())
    .sort();
}

const isSubset = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

/** A connector configuration must load; `tolerateMissingTls`: TLS files that do not exist on this machine are accepted. */
function expectConnectorConfigLoads(load: () => ConnectorConfig, where: string, tolerateMissingTls = false): ConnectorConfig | undefined {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = err.issues.filter((i) => !(tolerateMissingTls && /^sources\[\d+\]\.tls\.(caFile|certFile|keyFile)$/.test(i.path) && /^cannot read/.test(i.message)));
    expect(issues, `${where}: ${err.message}`).toEqual([]);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
describe('every YAML file under deploy/ parses', () => {
  const files = filesUnder('deploy').filter((f) => /\.ya?ml$/.test(f));
  it('finds the files', () => {
    expect(files).toEqual(expect.arrayContaining(['deploy/compose/compose.yaml', 'deploy/k8s/kustomization.yaml', 'deploy/compose/connector.yaml']));
  });
  for (const f of files) {
    it(f, () => {
      const docs = parseAllDocuments(read(f), { merge: true });
      for (const d of Array.isArray(docs) ? docs : [docs]) {
        expect(d.errors.map((e) => e.message), f).toEqual([]);
        expect(d.warnings.map((e) => e.message), f).toEqual([]);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
describe('connector configuration files in deploy/ pass the project loader', () => {
  it('deploy/compose/connector.yaml (with the environment compose gives it)', () => {
    const cfg = expectConnectorConfigLoads(() => loadConnectorConfig(at('deploy/compose/connector.yaml'), { KAFKA_BROKERS: 'kafka:19092' }), 'compose connector.yaml');
    expect(cfg?.kafka.brokers).toEqual(['kafka:19092']);
    expect(cfg?.metrics.host, 'the health check and other containers cannot reach a loopback listener').not.toMatch(/^(127\.|::1$|localhost$)/);
  });
  it('deploy/examples/connector.yaml (its TLS files need not exist here)', () => {
    expectConnectorConfigLoads(() => loadConnectorConfig(at('deploy/examples/connector.yaml'), {}), 'examples/connector.yaml', true);
  });
  // The ConfigMap's copy is checked with the Deployment below (it needs the Secret's env).
});

// ---------------------------------------------------------------------------------------
describe('Dockerfile', () => {
  const text = read('Dockerfile');
  // Instructions, continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), rest: m?.[2] ?? '' };
    });
  const stages: { name?: string; image: string; workdir: string; ops: typeof instructions }[] = [];
  const args = new Map<string, string>();
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v] = ins.rest.split('=');
      args.set(k, v ?? '');
    } else if (ins.op === 'FROM') {
      const [image, , name] = ins.rest.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '').split(/\s+/);
      stages.push({ image, name, workdir: '/', ops: [] });
    } else {
      const s = stages[stages.length - 1];
      if (ins.op === 'WORKDIR') s.workdir = posix.resolve(s.workdir, ins.rest);
      s.ops.push(ins);
    }
  }
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };
  const ignore = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignored = (p: string) => {
    let out = false;
    for (const pat of ignore) {
      const neg = pat.startsWith('!');
      const body = (neg ? pat.slice(1) : pat).replace(/^\/+|\/+$/g, '');
      const re = new RegExp(
        '^' +
          body
            .split('/')
            .map((seg) => (seg === '**' ? '(?:.*/)?' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '/'))
            .join('')
            .replace(/\/$/, '') +
          '(?:/.*)?$',
      );
      if (re.test(p)) out = !neg;
    }
    return out;
  };

  it('is multi-stage: a build stage and a node:20 runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.image, 'Node 20 (package.json engines: ' + pkg.engines.node + ')').toMatch(/^node:20(\.|-|$)/);
    const runtime = stages[stages.length - 1];
    const runs = runtime.ops.filter((o) => o.op === 'RUN').map((o) => o.rest);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)), 'runtime installs production dependencies only').toBe(true);
    expect(runs.some((r) => /\bnpm (install|ci)\b(?!.*--omit=dev)/.test(r)), 'no dev dependencies in the runtime image').toBe(false);
  });

  it('every COPY source exists and is not excluded by .dockerignore', () => {
    for (const s of stages) {
      for (const o of s.ops.filter((x) => x.op === 'COPY' || x.op === 'ADD')) {
        if (/--from=/.test(o.rest)) continue;
        const parts = o.rest.split(/\s+/).filter((p) => !p.startsWith('--'));
        const sources = parts.slice(0, -1);
        expect(sources.length, o.rest).toBeGreaterThan(0);
        for (const src of sources) {
          expect(existsSync(at(src)), `COPY ${src}: no such file in the repository`).toBe(true);
          expect(ignored(src.replace(/^\.\//, '').replace(/\/$/, '')), `COPY ${src}: excluded by .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('the build stage copies every directory that src/ imports from', () => {
    const build = stages[0];
    const copied = build.ops
      .filter((o) => o.op === 'COPY' && !/--from=/.test(o.rest))
      .flatMap((o) => o.rest.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1))
      .map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
    const outside = new Set<string>();
    for (const f of filesUnder('src').filter((x) => x.endsWith('.ts'))) {
      for (const [, spec] of read(f).matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = posix.join(posix.dirname(f), spec);
        if (!target.startsWith('src/')) outside.add(target);
      }
    }
    for (const t of outside) expect(copied.some((c) => t === c || t.startsWith(c + '/')), `src/ imports ${t}: COPY it in the build stage`).toBe(true);
  });

  it('COPY --from copies the compiled CLI, and ENTRYPOINT runs package.json bin.lqr as non-root', () => {
    const runtime = stages[stages.length - 1];
    const fromCopies = runtime.ops.filter((o) => o.op === 'COPY' && /--from=/.test(o.rest));
    const build = stages.find((s) => fromCopies.some((o) => o.rest.includes(`--from=${s.name}`)));
    expect(build, 'COPY --from names a build stage').toBeDefined();
    const outDir = (JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir;
    const binPath = pkg.bin.lqr.replace(/^\.\//, '');
    expect(binPath.startsWith(`${outDir}/`), `bin.lqr (${binPath}) lies in tsconfig.build.json outDir (${outDir})`).toBe(true);
    const copied = fromCopies.map((o) => {
      const [src, dest] = o.rest
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(-2);
      return { src: posix.resolve(build!.workdir, src), dest: posix.resolve(runtime.workdir, dest) };
    });
    const inImage = posix.join(runtime.workdir, binPath);
    const covering = copied.find((c) => inImage === c.dest || inImage.startsWith(c.dest + '/'));
    expect(covering, `${inImage} is copied from the build stage`).toBeDefined();
    expect(posix.join(covering!.src, posix.relative(covering!.dest, inImage)), 'same path in the build stage').toBe(posix.join(build!.workdir, binPath));
    const build_runs = build!.ops.filter((o) => o.op === 'RUN').map((o) => o.rest);
    expect(build_runs.some((r) => /tsc -p tsconfig\.build\.json|npm run build/.test(r)), 'the build stage compiles with tsconfig.build.json').toBe(true);

    const entry = runtime.ops.filter((o) => o.op === 'ENTRYPOINT').pop();
    expect(entry, 'ENTRYPOINT').toBeDefined();
    const argv = JSON.parse(entry!.rest) as string[];
    const script = argv[0] === 'node' ? argv[1] : argv[0];
    expect(posix.resolve(runtime.workdir, script), 'ENTRYPOINT runs package.json bin.lqr').toBe(inImage);
    const user = runtime.ops.filter((o) => o.op === 'USER').pop()?.rest;
    expect(user, 'the runtime stage sets USER').toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });
});

// ---------------------------------------------------------------------------------------
describe('deploy/compose', () => {
  const composeDir = at('deploy/compose');
  const doc = parse(read('deploy/compose/compose.yaml'), { merge: true }) as unknown;
  const Healthcheck = z.strictObject({
    test: z.array(z.string()).min(2),
    interval: z.string(),
    timeout: z.string(),
    retries: z.number().int(),
    start_period: z.string().optional(),
  });
  const ServiceSchema = z.strictObject({
    image: z.string().min(1),
    build: z.strictObject({ context: z.string(), dockerfile: z.string() }).optional(),
    restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
    init: z.boolean().optional(),
    profiles: z.array(z.string()).optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    entrypoint: z.array(z.string()).optional(),
    command: z.array(z.string()).optional(),
    depends_on: z.record(z.string(), z.strictObject({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) })).optional(),
    configs: z.array(z.strictObject({ source: z.string(), target: z.string().startsWith('/') })).optional(),
    ports: z.array(z.string()).optional(),
    volumes: z.array(z.string()).optional(),
    healthcheck: Healthcheck.optional(),
  });
  const ComposeSchema = z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
      services: z.record(z.string(), ServiceSchema),
      configs: z.record(z.string(), z.strictObject({ file: z.string() })).default({}),
      volumes: z.record(z.string(), z.null()).default({}),
    })
    .catchall(z.unknown())
    .superRefine((v, ctx) => {
      for (const k of Object.keys(v)) if (!['name', 'services', 'configs', 'volumes'].includes(k) && !k.startsWith('x-')) ctx.addIssue({ code: 'custom', message: `unknown top-level key ${k}` });
    });
  const parsed = ComposeSchema.safeParse(doc);
  it('matches the schema of the subset used', () => {
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });
  if (!parsed.success) return;
  const compose = parsed.data;
  const services = Object.entries(compose.services);
  const lqrServices = services.filter(([, s]) => s.build !== undefined);
  const replicas = lqrServices.filter(([, s]) => s.command?.[0] === 'replica');
  const KNOWN_PROFILES = ['lab'];

  it('has Kafka, a topic-init step, one connector, two replicas and lab servers behind the "lab" profile', () => {
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:3\.9\./);
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(lqrServices.filter(([, s]) => s.command?.[0] === 'connector')).toHaveLength(1);
    expect(replicas).toHaveLength(2);
    const labs = lqrServices.filter(([, s]) => s.command?.[0] === 'lab');
    expect(labs.length).toBeGreaterThan(0);
    for (const [, s] of labs) expect(s.profiles).toEqual(['lab']);
    for (const [, s] of lqrServices) if (s.command?.[0] !== 'lab') expect(s.profiles, 'the stack runs without the lab profile').toBeUndefined();
  });

  it('the lqr services build this repository and share one image', () => {
    const images = new Set(lqrServices.map(([, s]) => s.image));
    expect(images.size).toBe(1);
    for (const [, s] of lqrServices) {
      expect(existsSync(join(composeDir, s.build!.context, s.build!.dockerfile))).toBe(true);
    }
  });

  it('volumes, configs, profiles and depends_on refer to things that exist', () => {
    for (const [name, s] of services) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0];
        if (src.startsWith('.') || src.startsWith('/')) expect(existsSync(join(composeDir, src)), `${name}: bind mount ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${src} is declared`).toContain(src);
      }
      for (const c of s.configs ?? []) expect(Object.keys(compose.configs), `${name}: config ${c.source}`).toContain(c.source);
      for (const p of s.profiles ?? []) expect(KNOWN_PROFILES, `${name}: profile ${p}`).toContain(p);
      for (const dep of Object.keys(s.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        for (const p of target?.profiles ?? []) expect(s.profiles ?? [], `${name} depends on ${dep}, which only runs with profile ${p}`).toContain(p);
        if (s.depends_on![dep].condition === 'service_healthy') expect(target?.healthcheck, `${dep} has a health check`).toBeDefined();
      }
    }
    for (const [name, c] of Object.entries(compose.configs)) expect(existsSync(join(composeDir, c.file)), `config ${name}: ${c.file}`).toBe(true);
    const used = new Set(services.flatMap(([, s]) => (s.volumes ?? []).map((v) => v.split(':')[0])));
    for (const v of Object.keys(compose.volumes)) expect(used.has(v), `volume ${v} is used`).toBe(true);
  });

  const published = services.flatMap(([name, s]) =>
    (s.ports ?? []).map((p) => {
      const [addr, proto = 'tcp'] = p.split('/');
      const parts = addr.split(':');
      const container = Number(parts.pop());
      const host = Number(parts.pop());
      return { service: name, ip: parts.join(':') || '0.0.0.0', host, container, proto };
    }),
  );

  it('published host ports are unique', () => {
    const seen = new Map<string, string>();
    for (const p of published) {
      expect(Number.isInteger(p.host) && Number.isInteger(p.container), `${p.service}: host and container port given`).toBe(true);
      const key = `${p.host}/${p.proto}`;
      expect(seen.get(key), `${p.service}: host port ${key} is also published by ${seen.get(key)}`).toBeUndefined();
      seen.set(key, p.service);
    }
  });

  it('each replica has its own data volume, publishes its UDP, TCP and HTTP ports, and checks /readyz', () => {
    const dataVolumes = new Set<string>();
    for (const [name, s] of replicas) {
      const args = s.command!;
      const dataDir = flagValue(args, '--data-dir');
      const vol = (s.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === dataDir);
      expect(vol, `${name}: a volume at --data-dir ${dataDir}`).toBeDefined();
      expect(dataVolumes.has(vol![0]), `${name}: data volume ${vol![0]} is shared with another replica`).toBe(false);
      dataVolumes.add(vol![0]);
      const mine = published.filter((p) => p.service === name);
      expect(mine.some((p) => p.proto === 'udp' && p.container === Number(flagValue(args, '--udp-port'))), `${name}: UDP ${flagValue(args, '--udp-port')} published`).toBe(true);
      expect(mine.some((p) => p.proto === 'tcp' && p.container === Number(flagValue(args, '--tcp-port'))), `${name}: TCP ${flagValue(args, '--tcp-port')} published`).toBe(true);
      const http = flagValue(args, '--http-port');
      expect(mine.some((p) => p.proto === 'tcp' && p.container === Number(http)), `${name}: HTTP ${http} published`).toBe(true);
      expect(flagValue(args, '--host'), `${name}: listens beyond loopback`).toMatch(/^(::|0\.0\.0\.0)$/);
      expect(args, `${name}: requestors come from other addresses than loopback`).toContain('--allow-all');
      expect(s.healthcheck?.test.join(' ')).toContain(`:${http}/readyz`);
    }
  });

  it('every lqr command line is accepted by the CLI', async () => {
    for (const [name, s] of lqrServices) await expectLqrAccepts(s.command!, `compose service ${name}`);
  });

  it('the connector config follows the lab servers and matches the topics kafka-init creates', () => {
    const connector = lqrServices.find(([, s]) => s.command?.[0] === 'connector')![1];
    const configPath = flagValue(connector.command!, '--config');
    const mount = connector.configs?.find((c) => c.target === configPath);
    expect(mount, `--config ${configPath} is a mounted config`).toBeDefined();
    const file = join(composeDir, compose.configs[mount!.source].file);
    const env = Object.fromEntries(Object.entries(connector.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const cfg = expectConnectorConfigLoads(() => loadConnectorConfig(file, env), relative(ROOT, file))!;
    expect(cfg.metrics.port, 'health check port = metrics.port').toBe(Number(/:(\d+)\/readyz/.exec(connector.healthcheck!.test.join(' '))?.[1]));
    // Every source is a lab server: service name and one of its ports (--port P, server i on P+i).
    const labPorts = new Map<string, number[]>();
    for (const [name, s] of lqrServices.filter(([, x]) => x.command?.[0] === 'lab')) {
      const base = Number(flagValue(s.command!, '--port') ?? 5470);
      const n = Number(flagValue(s.command!, '--servers') ?? 1);
      labPorts.set(name, Array.from({ length: n }, (_, i) => base + i));
      expect(s.command, `${name}: accepts the connector's address`).toContain('--allow-all');
    }
    for (const src of cfg.sources) {
      expect(labPorts.get(src.host), `source ${src.name} -> ${src.host}:${src.port}`).toContain(src.port);
      // Without a scope the initial bulk load asks for nothing (RFC 5460 has no "all bindings").
      expect(src.scopes.links.length + src.scopes.relayIds.length, `source ${src.name}: scopes for the initial load`).toBeGreaterThan(0);
    }
    // kafka-init creates the topics with what the connector expects.
    const init = (compose.services['kafka-init']?.command ?? []).join('\n').replace(/\\\n/g, ' ');
    for (const [topic, partitions] of [
      [cfg.kafka.topics.events.name, cfg.kafka.topics.events.partitions],
      [cfg.kafka.topics.sources.name, cfg.kafka.topics.sources.partitions],
    ] as const) {
      const line = init.split('\n').find((l) => l.includes(`--create`) && l.includes(`--topic ${topic} `));
      expect(line, `kafka-init creates ${topic}`).toBeDefined();
      expect(line).toContain(`--partitions ${partitions} `);
    }
    expect(init).toMatch(/--topic lq\.events .*cleanup\.policy=delete.*retention\.ms=-1/);
    expect(init).toMatch(/--topic lq\.sources .*cleanup\.policy=compact/);
    expect(compose.services.kafka.environment?.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  const composeVersion = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
  const hasCompose = composeVersion.status === 0;
  const why = hasCompose ? '' : ` (skipped: \`docker compose version\` failed here: ${(composeVersion.error?.message ?? composeVersion.stderr ?? '').trim().split('\n')[0] || 'no compose'})`;
  it.runIf(hasCompose)(`docker compose config accepts compose.yaml${why}`, () => {
    for (const profile of [[], ['--profile', 'lab']]) {
      execFileSync('docker', ['compose', '-f', join(composeDir, 'compose.yaml'), ...profile, 'config', '--quiet'], { stdio: 'pipe', timeout: 60_000 });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe('deploy/k8s', () => {
  const dir = 'deploy/k8s';
  const kustomization = Kustomization.parse(parse(read(dir, 'kustomization.yaml')));
  type Obj = { kind: Kind; file: string; doc: unknown };
  const objects: Obj[] = [];
  const manifestFiles = filesUnder(dir).filter((f) => /\.ya?ml$/.test(f) && !f.endsWith('kustomization.yaml'));
  for (const f of manifestFiles) {
    for (const d of parseAllDocuments(read(f)) as ReturnType<typeof parseAllDocuments> & unknown[]) {
      const js = d.toJS() as { kind?: Kind } | null;
      if (js) objects.push({ kind: js.kind as Kind, file: posix.basename(f), doc: js });
    }
  }
  const examples = manifestFiles.filter((f) => f.endsWith('.example.yaml')).map((f) => posix.basename(f));

  it('kustomization.yaml lists every manifest except the *.example.yaml ones, and those exist', () => {
    const listed = [...kustomization.resources].sort();
    const expected = manifestFiles.map((f) => posix.basename(f)).filter((f) => !examples.includes(f)).sort();
    expect(listed).toEqual(expected);
  });

  it('every document is a known kind that matches the schema', () => {
    for (const o of objects) {
      const schema = KINDS[o.kind];
      expect(schema, `${o.file}: kind ${String(o.kind)} is not one deploy/k8s uses`).toBeDefined();
      const r = schema.safeParse(o.doc);
      expect(r.success ? [] : r.error.issues.map((i) => `${o.file}: ${i.path.join('.')}: ${i.message}`)).toEqual([]);
    }
  });

  const typed = <T>(kind: Kind) => objects.filter((o) => o.kind === kind).map((o) => ({ file: o.file, obj: KINDS[kind].parse(o.doc) as T }));
  const listed = (file: string) => kustomization.resources.includes(file);
  const deployments = typed<DeploymentT>('Deployment');
  const services = typed<ServiceT>('Service');
  const pdbs = typed<PdbT>('PodDisruptionBudget');
  const configMaps = typed<ConfigMapT>('ConfigMap');
  const secrets = typed<SecretT>('Secret');
  const byComponent = (c: string) => deployments.find((d) => d.obj.metadata.labels?.['app.kubernetes.io/component'] === c)?.obj;
  const connector = byComponent('connector');
  const replica = byComponent('replica');

  it('namespaces: every object is in the kustomization namespace, which the Namespace object creates', () => {
    const ns = kustomization.namespace;
    expect(typed<{ metadata: { name: string } }>('Namespace').map((n) => n.obj.metadata.name)).toEqual([ns]);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect((o.doc as { metadata: { namespace?: string } }).metadata.namespace, o.file).toBe(ns);
  });

  it('a connector Deployment (1 replica, Recreate) and a replica Deployment (2 replicas)', () => {
    expect(connector?.spec.replicas).toBe(1);
    expect(connector?.spec.strategy?.type).toBe('Recreate');
    expect(replica?.spec.replicas).toBe(2);
  });

  it('Deployment selectors match their pod labels, and the images are the kustomization image', () => {
    const imageNames = (kustomization.images ?? []).map((i) => i.name);
    for (const { file, obj } of deployments) {
      expect(isSubset(obj.spec.selector.matchLabels, obj.spec.template.metadata.labels), `${file}: selector ⊆ template labels`).toBe(true);
      for (const c of obj.spec.template.spec.containers) expect(imageNames, `${file}: image ${c.image}`).toContain(c.image.split(':')[0]);
    }
    // The two Deployments' selectors do not overlap (a Service or PDB would pick both).
    expect(isSubset(connector!.spec.selector.matchLabels, replica!.spec.template.metadata.labels)).toBe(false);
    expect(isSubset(replica!.spec.selector.matchLabels, connector!.spec.template.metadata.labels)).toBe(false);
  });

  const portOf = (c: ContainerT, ref: string | number) => c.ports.find((p) => (typeof ref === 'string' ? p.name === ref : p.containerPort === ref));

  it('readiness and liveness probes (and startup probes) point at ports the container has; replicas: readiness /readyz, liveness /healthz', () => {
    for (const { file, obj } of deployments) {
      for (const c of obj.spec.template.spec.containers) {
        for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
          const probe = c[kind];
          if (kind === 'startupProbe' && !probe) continue;
          expect(probe, `${file}: ${c.name} has a ${kind}`).toBeDefined();
          const port = portOf(c, probe!.httpGet.port);
          expect(port, `${file}: ${c.name} ${kind} port ${probe!.httpGet.port}`).toBeDefined();
          expect(port!.protocol).toBe('TCP');
        }
      }
    }
    const rc = replica!.spec.template.spec.containers[0];
    expect(rc.readinessProbe!.httpGet.path).toBe('/readyz');
    expect(rc.livenessProbe!.httpGet.path).toBe('/healthz');
  });

  it('container ports are the ones the lqr flags open', () => {
    const rc = replica!.spec.template.spec.containers[0];
    const port = (proto: string, flag: string) => rc.ports.find((p) => p.protocol === proto && p.containerPort === Number(flagValue(rc.args, flag)));
    expect(port('UDP', '--udp-port'), '--udp-port has a UDP containerPort').toBeDefined();
    expect(port('TCP', '--tcp-port'), '--tcp-port has a TCP containerPort').toBeDefined();
    expect(port('TCP', '--http-port'), '--http-port has a containerPort').toBeDefined();
    expect(flagValue(rc.args, '--host'), 'the replica listens beyond loopback (probes, Service)').toMatch(/^(::|0\.0\.0\.0)$/);
  });

  it('every Service selects a Deployment and targets named container ports of it', () => {
    expect(services.length).toBeGreaterThan(0);
    for (const { file, obj } of services) {
      const targets = deployments.filter((d) => isSubset(obj.spec.selector, d.obj.spec.template.metadata.labels));
      expect(targets.length, `${file}: selects exactly one Deployment`).toBe(1);
      const containers = targets[0].obj.spec.template.spec.containers;
      for (const p of obj.spec.ports) {
        expect(typeof p.targetPort, `${file}: port ${p.name} targets a named port`).toBe('string');
        const cp = containers.map((c) => portOf(c, p.targetPort)).find(Boolean);
        expect(cp, `${file}: targetPort ${p.targetPort} exists in the pod`).toBeDefined();
        expect(cp!.protocol, `${file}: ${p.name} protocol`).toBe(p.protocol);
      }
    }
    const lq = services.find((s) => s.obj.metadata.name === 'lqr-replica')!.obj;
    expect(lq.spec.ports.filter((p) => p.port === 547).map((p) => p.protocol).sort()).toEqual(['TCP', 'UDP']);
  });

  it('the PodDisruptionBudget selects the replicas and leaves room to evict one', () => {
    expect(pdbs).toHaveLength(1);
    const pdb = pdbs[0].obj;
    const selected = deployments.filter((d) => isSubset(pdb.spec.selector.matchLabels, d.obj.spec.template.metadata.labels));
    expect(selected.map((d) => d.obj.metadata.name)).toEqual([replica!.metadata.name]);
    expect(typeof pdb.spec.minAvailable).toBe('number');
    expect(pdb.spec.minAvailable as number).toBeLessThan(replica!.spec.replicas);
  });

  it('volumes, mounts, ConfigMaps and Secrets referenced by the pods exist', () => {
    for (const { file, obj } of deployments) {
      const pod = obj.spec.template.spec;
      const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
      for (const c of pod.containers) {
        for (const m of c.volumeMounts) expect(volumes.has(m.name), `${file}: mount ${m.name}`).toBe(true);
        for (const e of c.envFrom ?? []) {
          if (e.secretRef && !e.secretRef.optional) {
            const s = secrets.find((x) => x.obj.metadata.name === e.secretRef!.name);
            expect(s, `${file}: Secret ${e.secretRef.name} is defined (listed or as an example)`).toBeDefined();
            expect(listed(s!.file), `${file}: the Secret ${e.secretRef.name} is an example, not applied with real values`).toBe(false);
            expect(Object.keys(s!.obj.stringData)).toContain('KAFKA_BROKERS');
          }
        }
        if (c.securityContext.readOnlyRootFilesystem) expect(c.volumeMounts.some((m) => m.mountPath === '/tmp'), `${file}: writable /tmp`).toBe(true);
        expect(c.securityContext.capabilities.drop).toContain('ALL');
      }
      for (const v of pod.volumes) {
        if (v.configMap && !v.configMap.optional) {
          const cm = configMaps.find((x) => x.obj.metadata.name === v.configMap!.name);
          expect(cm && listed(cm.file), `${file}: ConfigMap ${v.configMap.name} is in the kustomization`).toBe(true);
        }
        if (v.secret && !v.secret.optional) expect(secrets.some((x) => x.obj.metadata.name === v.secret!.secretName), `${file}: Secret ${v.secret.secretName}`).toBe(true);
      }
    }
    expect(examples.every((f) => secrets.some((s) => s.file === f))).toBe(true);
  });

  it('the replica keeps its data directory on a volume', () => {
    const rc = replica!.spec.template.spec.containers[0];
    const dataDir = flagValue(rc.args, '--data-dir');
    expect(rc.volumeMounts.some((m) => m.mountPath === dataDir)).toBe(true);
  });

  it('every lqr command line is accepted by the CLI', async () => {
    for (const { file, obj } of deployments) for (const c of obj.spec.template.spec.containers) await expectLqrAccepts(c.args, `${file} ${c.name}`);
  });

  it("the connector's --config file is mounted from the ConfigMap and passes the loader with the Secret's environment", () => {
    const c = connector!.spec.template.spec.containers[0];
    const configPath = flagValue(c.args, '--config')!;
    const mount = c.volumeMounts.find((m) => configPath.startsWith(m.mountPath.replace(/\/?$/, '/')));
    expect(mount, `--config ${configPath} lies under a volume mount`).toBeDefined();
    const volume = connector!.spec.template.spec.volumes.find((v) => v.name === mount!.name)!;
    const cm = configMaps.find((x) => x.obj.metadata.name === volume.configMap?.name)?.obj;
    expect(cm, `${mount!.name} is a ConfigMap volume`).toBeDefined();
    const key = posix.relative(mount!.mountPath, configPath);
    expect(Object.keys(cm!.data)).toContain(key);
    const secret = secrets.find((s) => s.obj.metadata.name === c.envFrom?.[0]?.secretRef?.name)!.obj;
    const cfg = expectConnectorConfigLoads(() => resolveConnectorConfig(parse(cm!.data[key]), { ...secret.stringData }), `ConfigMap ${cm!.metadata.name} ${key}`)!;
    const metrics = c.ports.find((p) => p.containerPort === cfg.metrics.port);
    expect(metrics, `metrics.port ${cfg.metrics.port} is a container port`).toBeDefined();
    expect(c.readinessProbe!.httpGet.port).toBe(metrics!.name);
    expect(cfg.metrics.host, 'probes reach the pod IP, not loopback').not.toMatch(/^(127\.|::1$|localhost$)/);
    // TLS files named in the configuration lie under a mounted volume.
    for (const s of cfg.sources) {
      for (const f of [s.tls?.caFile, s.tls?.certFile, s.tls?.keyFile].filter((x): x is string => !!x)) {
        expect(c.volumeMounts.some((m) => f.startsWith(m.mountPath + '/')), `${s.name}: ${f} is mounted`).toBe(true);
      }
    }
  });

  it('Deployment schema rejects a misspelt probe (the schema is strict)', () => {
    const bad = structuredClone(replica!) as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    bad.spec.template.spec.containers[0].readinesProbe = bad.spec.template.spec.containers[0].readinessProbe;
    expect(Deployment.safeParse(bad).success).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
describe('deploy/systemd', () => {
  const dir = 'deploy/systemd';
  type Unit = Map<string, Map<string, string[]>>;
  function parseUnit(text: string): Unit {
    const unit: Unit = new Map();
    let section: Map<string, string[]> | undefined;
    for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        section = new Map();
        unit.set(sec[1], section);
        continue;
      }
      const eq = line.indexOf('=');
      expect(section, `key outside a section: ${line}`).toBeDefined();
      expect(eq, `not key=value: ${line}`).toBeGreaterThan(0);
      const key = line.slice(0, eq).trim();
      section!.set(key, [...(section!.get(key) ?? []), line.slice(eq + 1).trim()]);
    }
    return unit;
  }
  const units = filesUnder(dir).filter((f) => /\.service$/.test(f));
  const get = (u: Unit, key: string) => u.get('Service')?.get(key) ?? [];
  const one = (u: Unit, key: string) => get(u, key).at(-1);

  /** Environment= defaults of a unit ("A=1 B=2" per line). */
  const envDefaults = (u: Unit) => Object.fromEntries(get(u, 'Environment').flatMap((l) => l.split(/\s+/).map((kv) => kv.split('=') as [string, string])));
  /** Commented-out or set values of an example env file. */
  const exampleEnv = (file: string) =>
    Object.fromEntries(
      read(dir, file)
        .split(/\r?\n/)
        .map((l) => /^#?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );

  /** The lqr argv of ExecStart, specifiers and variables expanded as systemd would. */
  function execArgv(u: Unit, name: string, env: Record<string, string>): string[] {
    const exec = one(u, 'ExecStart')!;
    const specifiers: Record<string, string> = { i: 'a', I: 'a', S: '/var/lib', d: `/run/credentials/${name.replace('@', '@a')}`, n: name };
    const words = exec
      .split(/\s+/)
      .map((w) => w.replace(/%(.)/g, (_, c: string) => specifiers[c] ?? `%${c}`))
      .flatMap((w) => {
        const whole = /^\$([A-Za-z_]\w*)$/.exec(w);
        if (whole) return (env[whole[1]] ?? '').split(/\s+/).filter(Boolean); // "$VAR": split into words, none when unset
        return [w.replace(/\$\{(\w+)\}/g, (_, k: string) => env[k] ?? '')];
      });
    return words;
  }

  it('finds lqr-connector.service and the lqr-replica@.service template', () => {
    expect(units.map((u) => posix.basename(u)).sort()).toEqual(['lqr-connector.service', 'lqr-replica@.service']);
  });

  for (const file of units) {
    const name = posix.basename(file);
    const unit = parseUnit(read(file));
    describe(name, () => {
      it('has the hardening options', () => {
        expect(one(unit, 'DynamicUser') === 'yes' || one(unit, 'User') !== undefined, 'DynamicUser=yes or User=').toBe(true);
        expect(one(unit, 'NoNewPrivileges')).toBe('yes');
        expect(one(unit, 'ProtectSystem')).toBe('strict');
        expect(one(unit, 'ProtectHome')).toBe('yes');
        expect(one(unit, 'PrivateTmp')).toBe('yes');
        expect(one(unit, 'MemoryDenyWriteExecute'), "V8's JIT needs W+X memory").not.toBe('yes');
        expect(get(unit, 'EnvironmentFile').some((f) => f.replace(/^-/, '') === '/etc/lqr/kafka.env'), 'Kafka secrets from an EnvironmentFile').toBe(true);
        expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
      });

      it('ExecStart is an lqr command line the CLI accepts', async () => {
        const argv = execArgv(unit, name, envDefaults(unit));
        expect(argv[0]).toMatch(/\/lqr$/);
        await expectLqrAccepts(argv.slice(1), name);
        // Every ${VAR} of ExecStart has a default in the unit.
        for (const [, v] of one(unit, 'ExecStart')!.matchAll(/\$\{(\w+)\}/g)) expect(envDefaults(unit), `${name}: \${${v}} has an Environment= default`).toHaveProperty(v);
      });

      if (name.includes('@')) {
        it('binds port 547 with CAP_NET_BIND_SERVICE only, keeps its data in its StateDirectory', async () => {
          expect(one(unit, 'AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
          expect(one(unit, 'CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
          const env = envDefaults(unit);
          expect(env.LQR_UDP_PORT).toBe('547');
          expect(env.LQR_TCP_PORT).toBe('547');
          const argv = execArgv(unit, name, env);
          expect(flagValue(argv, '--data-dir')).toBe(`/var/lib/${one(unit, 'StateDirectory')!.replace('%i', 'a')}`);
          // The example env file names the same variables, and its values are accepted too.
          const example = exampleEnv('replica.env.example');
          for (const k of Object.keys(env).filter((k) => k.startsWith('LQR_') && k !== 'LQR_LOG_LEVEL')) expect(example, `replica.env.example documents ${k}`).toHaveProperty(k);
          await expectLqrAccepts(execArgv(unit, name, { ...env, ...example }).slice(1), `${name} with replica.env.example`);
        });
      } else {
        it('needs no capability (the connector only connects out)', () => {
          expect(one(unit, 'CapabilityBoundingSet')).toBe('');
          expect(one(unit, 'AmbientCapabilities') ?? '').toBe('');
          expect(one(unit, 'RestartPreventExitStatus')?.split(/\s+/)).toContain('3');
          // The config is passed as a credential and --config points at it.
          const cred = get(unit, 'LoadCredential').map((l) => l.split(':')[0]);
          const argv = execArgv(unit, name, envDefaults(unit));
          expect(cred.map((c) => `/run/credentials/${name}/${c}`)).toContain(flagValue(argv, '--config'));
        });
      }
    });
  }

  it('example env files set only known Kafka variables', () => {
    const known = read('src/kafka/config.ts').match(/KAFKA_[A-Z_]+/g) ?? [];
    for (const k of Object.keys(exampleEnv('kafka.env.example'))) expect(known, `kafka.env.example: ${k}`).toContain(k);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.runIf(analyze.status === 0)(`systemd-analyze verify finds nothing but the missing lqr binary${analyze.status === 0 ? '' : ' (skipped: no systemd-analyze here)'}`, () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((u) => at(u))], { encoding: 'utf8', cwd: at(dir), timeout: 60_000 });
    const lines = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/Command \/usr\/local\/bin\/lqr is not executable/.test(l));
    expect(lines).toEqual([]);
  });
});

