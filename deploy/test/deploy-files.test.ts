/**
 * The deployment files, checked offline (no Docker, no cluster): deploy/compose.yaml,
 * deploy/Dockerfile, every manifest of deploy/k8s and its examples, and the docs that
 * name settings and metrics. Each check is also run on a broken copy, to show it fails.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  checkCompose,
  checkDockerfile,
  checkKedaExamples,
  checkKustomization,
  checkManifests,
  deployDir,
  k8sDir,
  loadManifests,
  type Manifest,
  manifestFiles,
  parseConsumerGroups,
  parseRoles,
  parseSettings,
  readSourceFacts,
  readYaml,
  repoRoot,
  unknownMetricNames,
} from './deploy-checks.ts'

const facts = readSourceFacts()
const compose = readYaml(join(deployDir, 'compose.yaml')) as any
const dockerfile = readFileSync(join(deployDir, 'Dockerfile'), 'utf8')
const files = manifestFiles(k8sDir)
const loaded = loadManifests(k8sDir, files)
const kustomization = readYaml(join(k8sDir, 'kustomization.yaml'))
const examplesDir = join(k8sDir, 'examples')
const examples = loadManifests(examplesDir, manifestFiles(examplesDir))

/** A deep copy of the real manifests with one document changed. */
function withManifest(kind: string, name: string, change: (doc: any) => void): Manifest[] {
  const copy = structuredClone(loaded.manifests)
  const target = copy.find((m) => m.doc.kind === kind && m.doc.metadata?.name === name)
  assert.ok(target, `no ${kind}/${name} in deploy/k8s`)
  change(target.doc)
  return copy
}

/** A deep copy of compose.yaml with one change. */
function withCompose(change: (c: any) => void): unknown {
  const copy = structuredClone(compose)
  change(copy)
  return copy
}

const someMatch = (problems: string[], pattern: RegExp) =>
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got:\n${problems.join('\n') || '(none)'}`,
  )

describe('facts read from the code', () => {
  test('settings, roles, consumer groups and topic are found', () => {
    for (const name of ['SPANSIFT_KAFKA_BROKERS', 'SPANSIFT_CLICKHOUSE_URL', 'SPANSIFT_METRICS_PORT']) {
      assert.ok(facts.settings.has(name), name)
    }
    assert.equal(facts.settings.get('SPANSIFT_METRICS_PORT'), '9464')
    assert.deepEqual(facts.roles, ['receiver', 'span-writer', 'rule-worker', 'api'])
    assert.equal(facts.consumerGroups.get('span-writer'), 'spansift-span-writer')
    assert.equal(facts.spansTopic, 'spansift.spans')
    assert.ok(facts.workspaces.includes('services/cli'))
  })

  test('the source parsers read the shapes they expect and fail loudly on others', () => {
    const settings = parseSettings(`const environmentSchema = z.strictObject({
  SPANSIFT_A: port.default(4318),
  SPANSIFT_B: z
    .url()
    .optional(),
  SPANSIFT_C: z.string().default('./x'),
  SPANSIFT_D: z.coerce.number().default(10_000),
  SPANSIFT_E: z.string().optional(),
})`)
    assert.deepEqual(
      [...settings],
      [
        ['SPANSIFT_A', '4318'],
        ['SPANSIFT_B', undefined],
        ['SPANSIFT_C', './x'],
        ['SPANSIFT_D', '10000'],
        ['SPANSIFT_E', undefined],
      ],
    )
    assert.throws(() => parseSettings('export const schema = z.object({})'), /strictObject/)
    assert.deepEqual(parseRoles(`export const ROLES = ['a', 'b-c'] as const`), ['a', 'b-c'])
    assert.throws(() => parseRoles('export const roles = []'), /ROLES/)
    assert.deepEqual(
      [...parseConsumerGroups(`export const ConsumerGroup = { x: 'spansift-x', y: 'spansift-y' } as const`)],
      [
        ['x', 'spansift-x'],
        ['y', 'spansift-y'],
      ],
    )
  })
})

describe('deploy/compose.yaml', () => {
  test('is valid Compose and runs every role with the settings spansift knows', () => {
    assert.deepEqual(checkCompose(compose, facts), [])
  })

  test('a schema violation fails (unknown key, wrong type, bad duration)', () => {
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.api.helthcheck = {})),
        facts,
      ),
      /additional properties/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.api.restart = 3)),
        facts,
      ),
      /restart: must be string/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.kafka.healthcheck.interval = '10 seconds')),
        facts,
      ),
      /interval: must match format "duration"/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.api.ports = ['80:80:80:80'])),
        facts,
      ),
      /format "ports"/,
    )
  })

  test('an unknown SPANSIFT_* variable fails (spansift refuses to start with one)', () => {
    const broken = withCompose((c) => (c.services.receiver.environment.SPANSIFT_KAFKA_TOPIC = 'x'))
    someMatch(checkCompose(broken, facts), /receiver: SPANSIFT_KAFKA_TOPIC is not a spansift setting/)
  })

  test('a depends_on target that does not exist fails', () => {
    const broken = withCompose((c) => (c.services.api.depends_on.postgres = { condition: 'service_healthy' }))
    someMatch(checkCompose(broken, facts), /api: depends_on postgres, which is not a service/)
  })

  test('waiting only for a dependency to start, not to be healthy, fails', () => {
    const broken = withCompose((c) => (c.services.api.depends_on.kafka.condition = 'service_started'))
    someMatch(checkCompose(broken, facts), /api: depends_on kafka should wait for service_healthy/)
  })

  test('a role without a service fails', () => {
    const broken = withCompose((c) => delete c.services['rule-worker'])
    someMatch(checkCompose(broken, facts), /role rule-worker runs in 0 services/)
  })

  test('a service without a health check or restart policy fails', () => {
    someMatch(
      checkCompose(
        withCompose((c) => delete c.services.clickhouse.healthcheck),
        facts,
      ),
      /clickhouse: no health check/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => delete c.services.receiver.restart),
        facts,
      ),
      /receiver: no restart policy/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.api.healthcheck.test = ['CMD', 'true'])),
        facts,
      ),
      /api: the health check must ask \/healthz or \/readyz on the ops port 9464/,
    )
  })

  test('a secret with a default value fails', () => {
    someMatch(
      checkCompose(
        withCompose(
          (c) =>
            (c.services.api.environment.SPANSIFT_ADMIN_KEY = `\${SPANSIFT_ADMIN_KEY:-changeme-changeme}`),
        ),
        facts,
      ),
      /SPANSIFT_ADMIN_KEY .*a secret needs/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.clickhouse.environment.CLICKHOUSE_PASSWORD = 'hunter2')),
        facts,
      ),
      /CLICKHOUSE_PASSWORD is a literal/,
    )
  })

  test('more consumers than partitions, or an undeclared volume, fails', () => {
    someMatch(
      checkCompose(
        withCompose((c) => (c.services['rule-worker'].deploy.replicas = 7)),
        facts,
      ),
      /rule-worker: 7 replicas of a consumer group, but spansift.spans has 6 partitions/,
    )
    someMatch(
      checkCompose(
        withCompose((c) => (c.services.kafka.volumes = ['kafka-logs:/var/lib/kafka/data'])),
        facts,
      ),
      /kafka: volume kafka-logs is not declared/,
    )
  })

  test('the published ports follow the configured ports', () => {
    const broken = withCompose((c) => (c.services.receiver.environment.SPANSIFT_OTLP_HTTP_PORT = '14318'))
    someMatch(checkCompose(broken, facts), /receiver: does not publish SPANSIFT_OTLP_HTTP_PORT \(14318\)/)
  })
})

describe('deploy/Dockerfile', () => {
  test('copies every workspace, the sources and proto/, and runs the CLI as a non-root user', () => {
    assert.deepEqual(checkDockerfile(dockerfile, facts), [])
  })

  test('a workspace left out of the dependency layer fails', () => {
    const broken = dockerfile.replace('COPY load-tests/package.json load-tests/\n', '')
    someMatch(checkDockerfile(broken, { ...facts }), /load-tests\/package.json is not copied/)
    someMatch(checkDockerfile(dockerfile.replace('COPY proto ./proto\n', ''), facts), /proto\/ is not copied/)
    someMatch(checkDockerfile(dockerfile.replace('USER 1000:1000', 'USER root'), facts), /non-root USER/)
  })
})

describe('deploy/k8s', () => {
  test('every manifest parses', () => {
    assert.deepEqual(loaded.problems, [])
    assert.ok(loaded.manifests.length >= 10, `only ${loaded.manifests.length} documents`)
  })

  test('every document validates with the kubernetes-models class of its kind, and they fit together', async () => {
    assert.deepEqual(await checkManifests(loaded.manifests, facts), [])
  })

  test('kustomization.yaml lists every manifest and names the image', () => {
    assert.deepEqual(checkKustomization(kustomization, files, loaded.manifests), [])
    const broken = structuredClone(kustomization) as { resources: string[] }
    broken.resources = broken.resources.filter((r) => r !== 'api.yaml').concat('ingress.yaml')
    const problems = checkKustomization(broken, files, loaded.manifests)
    someMatch(problems, /api.yaml is not listed/)
    someMatch(problems, /resource ingress.yaml is not a manifest file/)
  })

  test('an unknown kind fails', async () => {
    const manifests = [
      ...loaded.manifests,
      {
        file: 'x.yaml',
        doc: { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x' } },
      },
    ]
    someMatch(
      await checkManifests(manifests, facts),
      /unknown apiVersion\/kind keda.sh\/v1alpha1\/ScaledObject/,
    )
    const spec = [
      ...loaded.manifests,
      { file: 'y.yaml', doc: { apiVersion: 'apps/v1', kind: 'DeploymentSpec' } },
    ]
    someMatch(await checkManifests(spec, facts), /unknown apiVersion\/kind apps\/v1\/DeploymentSpec/)
  })

  test('a schema violation fails', async () => {
    const broken = withManifest('Deployment', 'spansift-receiver', (d) => {
      d.spec.template.spec.containers[0].ports[0].containerPort = 'otlp'
    })
    someMatch(await checkManifests(broken, facts), /containerPort must be integer/)
    const noSelector = withManifest('Deployment', 'spansift-api', (d) => delete d.spec.selector)
    someMatch(await checkManifests(noSelector, facts), /must have required property selector/)
  })

  test('a misspelt field fails (kubernetes-models alone would accept it)', async () => {
    const broken = withManifest('Deployment', 'spansift-span-writer', (d) => {
      const container = d.spec.template.spec.containers[0]
      container.livenesProbe = container.livenessProbe
      delete container.livenessProbe
    })
    const problems = await checkManifests(broken, facts)
    someMatch(problems, /unknown field spec.template.spec.containers.0.livenesProbe/)
  })

  test('a Deployment without probes or resources fails', async () => {
    const broken = withManifest('Deployment', 'spansift-rule-worker', (d) => {
      const container = d.spec.template.spec.containers[0]
      delete container.readinessProbe
      delete container.resources.limits
    })
    const problems = await checkManifests(broken, facts)
    someMatch(problems, /rule-worker container spansift: no readinessProbe/)
    someMatch(problems, /rule-worker container spansift: no memory limit/)
    const wrongPort = withManifest('Deployment', 'spansift-api', (d) => {
      d.spec.template.spec.containers[0].livenessProbe.httpGet.port = 'http'
    })
    someMatch(await checkManifests(wrongPort, facts), /livenessProbe port http is not the ops port/)
  })

  test('service links, which would inject SPANSIFT_* variables spansift refuses, must be off', async () => {
    const broken = withManifest(
      'Deployment',
      'spansift-api',
      (d) => delete d.spec.template.spec.enableServiceLinks,
    )
    someMatch(
      await checkManifests(broken, facts),
      /Deployment\/spansift-api: enableServiceLinks must be false/,
    )
  })

  test('unknown settings, and secrets outside a Secret, fail', async () => {
    const unknown = withManifest('ConfigMap', 'spansift-config', (c) => (c.data.SPANSIFT_KAFKA_TOPIC = 'x'))
    someMatch(await checkManifests(unknown, facts), /SPANSIFT_KAFKA_TOPIC is not a spansift setting/)
    const plain = withManifest(
      'ConfigMap',
      'spansift-config',
      (c) => (c.data.SPANSIFT_ADMIN_KEY = 'x'.repeat(16)),
    )
    const withoutSecret = plain.map((m) => {
      if (m.doc.kind !== 'Deployment' || m.doc.metadata?.name !== 'spansift-api') return m
      const doc = structuredClone(m.doc) as any
      const container = doc.spec.template.spec.containers[0]
      container.env = container.env.filter((e: any) => e.name !== 'SPANSIFT_ADMIN_KEY')
      return { ...m, doc }
    })
    someMatch(await checkManifests(withoutSecret, facts), /SPANSIFT_ADMIN_KEY holds a secret/)
  })

  test('a PodDisruptionBudget or Service selecting no Deployment fails', async () => {
    const pdb = withManifest('PodDisruptionBudget', 'spansift-api', (p) => {
      p.spec.selector.matchLabels['app.kubernetes.io/component'] = 'apí'
    })
    someMatch(
      await checkManifests(pdb, facts),
      /PodDisruptionBudget\/spansift-api: selects the pods of 0 Deployments/,
    )
    const blocking = withManifest(
      'PodDisruptionBudget',
      'spansift-receiver',
      (p) => (p.spec.minAvailable = 2),
    )
    someMatch(await checkManifests(blocking, facts), /minAvailable 2 with 2 replicas blocks every eviction/)
    const service = withManifest('Service', 'spansift-receiver', (s) => (s.spec.ports[0].targetPort = 'grpc'))
    someMatch(
      await checkManifests(service, facts),
      /port otlp-grpc targets grpc, which no container declares/,
    )
  })

  test('an autoscaler of a missing Deployment, past the partition count, or on the wrong group fails', async () => {
    const missing = withManifest('HorizontalPodAutoscaler', 'spansift-receiver', (h) => {
      h.spec.scaleTargetRef.name = 'spansift-receivers'
    })
    someMatch(
      await checkManifests(missing, facts),
      /scales apps\/v1\/Deployment spansift-receivers, which is not a Deployment/,
    )
    const tooMany = withManifest(
      'HorizontalPodAutoscaler',
      'spansift-rule-worker',
      (h) => (h.spec.maxReplicas = 24),
    )
    someMatch(
      await checkManifests(tooMany, facts),
      /maxReplicas 24 exceeds the 12 partitions of spansift.spans/,
    )
    const wrongGroup = withManifest('HorizontalPodAutoscaler', 'spansift-span-writer', (h) => {
      h.spec.metrics[0].external.metric.selector.matchLabels.consumergroup = 'spansift-rule-worker'
    })
    someMatch(
      await checkManifests(wrongGroup, facts),
      /lag of consumer group spansift-rule-worker, but span-writer is spansift-span-writer/,
    )
  })

  test('the KEDA example scales the consumer Deployments on their own groups', () => {
    assert.deepEqual(examples.problems, [])
    assert.ok(examples.manifests.length > 0)
    assert.deepEqual(checkKedaExamples(examples.manifests, loaded.manifests, facts), [])
    const broken = structuredClone(examples.manifests)
    ;(broken[0]!.doc as any).spec.triggers[0].metadata.consumerGroup = 'spansift'
    someMatch(checkKedaExamples(broken, loaded.manifests, facts), /consumerGroup is not spansift-/)
  })
})

describe('docs', () => {
  test('every metric named in docs/operations.md and deploy/README.md exists in the code', () => {
    for (const doc of ['docs/operations.md', 'deploy/README.md']) {
      assert.deepEqual(unknownMetricNames(readFileSync(join(repoRoot, doc), 'utf8'), facts), [], doc)
    }
    assert.deepEqual(unknownMetricNames('spansift_spans_received_total spansift_no_such_metric', facts), [
      'spansift_no_such_metric',
    ])
  })

  test('deploy/README.md creates the Secret keys the manifests read', () => {
    const readme = readFileSync(join(deployDir, 'README.md'), 'utf8')
    const keys = new Set(
      loaded.manifests.flatMap(
        (m) =>
          JSON.stringify(m.doc)
            .match(/"secretKeyRef":\{[^}]*\}/g)
            ?.map((ref) => (JSON.parse(ref.slice('"secretKeyRef":'.length)) as { key: string }).key) ?? [],
      ),
    )
    assert.ok(keys.size > 0)
    for (const key of keys) assert.match(readme, new RegExp(`--from-literal=${key}=`), key)
  })
})
