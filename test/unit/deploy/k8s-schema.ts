// A zod schema of the subset of Kubernetes objects that deploy/k8s uses. Objects are
// strict: a field outside the subset (or a misspelt one, "readinesProbe") is an error,
// so adding a field to a manifest means adding it here too, where it is checked.
import { z } from 'zod';

/** RFC 1123 label (names of most objects). */
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'an RFC 1123 label: lowercase letters, digits and "-"');
/** An IANA_SVC_NAME: what a named port may be called (at most 15 characters). */
const portName = z
  .string()
  .max(15)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .refine((s) => /[a-z]/.test(s), 'a port name contains a letter');
const labelValue = z.string().max(63).regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
const labels = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/), labelValue);
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity (e.g. 250m, 512Mi)');
const portRef = z.union([portName, z.number().int().min(1).max(65535)]);

export const Metadata = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: labels.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const Probe = z.strictObject({
  httpGet: z.strictObject({ path: z.string().startsWith('/'), port: portRef }),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
});

export const ContainerPort = z.strictObject({
  name: portName,
  containerPort: z.number().int().min(1).max(65535),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
});

const EnvVar = z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), value: z.string() });
const EnvFrom = z.strictObject({
  secretRef: z.strictObject({ name: dnsLabel, optional: z.boolean().optional() }).optional(),
  configMapRef: z.strictObject({ name: dnsLabel, optional: z.boolean().optional() }).optional(),
});

export const Container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  /** The image's ENTRYPOINT is lqr: args are `<command> --flags...`; no command override. */
  args: z.array(z.string()).min(1),
  env: z.array(EnvVar).optional(),
  envFrom: z.array(EnvFrom).optional(),
  ports: z.array(ContainerPort).default([]),
  startupProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  livenessProbe: Probe.optional(),
  resources: z.strictObject({
    requests: z.strictObject({ cpu: quantity, memory: quantity }),
    limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
  }),
  securityContext: z.strictObject({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.boolean(),
    capabilities: z.strictObject({ drop: z.array(z.string()), add: z.array(z.string()).optional() }),
  }),
  volumeMounts: z
    .array(z.strictObject({ name: dnsLabel, mountPath: z.string().startsWith('/'), readOnly: z.boolean().optional(), subPath: z.string().optional() }))
    .default([]),
});

const Volume = z.strictObject({
  name: dnsLabel,
  configMap: z.strictObject({ name: dnsLabel, optional: z.boolean().optional() }).optional(),
  secret: z.strictObject({ secretName: dnsLabel, optional: z.boolean().optional() }).optional(),
  emptyDir: z.strictObject({ sizeLimit: quantity.optional(), medium: z.string().optional() }).optional(),
});

const PodSecurityContext = z.strictObject({
  runAsNonRoot: z.literal(true),
  runAsUser: z.number().int().min(1),
  runAsGroup: z.number().int().min(1),
  fsGroup: z.number().int().min(1).optional(),
  seccompProfile: z.strictObject({ type: z.enum(['RuntimeDefault', 'Localhost']) }),
});

const Selector = z.strictObject({ matchLabels: labels });

export const Deployment = z.strictObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: Metadata,
  spec: z.strictObject({
    replicas: z.number().int().min(0),
    strategy: z
      .strictObject({
        type: z.enum(['Recreate', 'RollingUpdate']),
        rollingUpdate: z.strictObject({ maxUnavailable: z.union([z.number(), z.string()]), maxSurge: z.union([z.number(), z.string()]) }).optional(),
      })
      .optional(),
    selector: Selector,
    template: z.strictObject({
      metadata: z.strictObject({ labels, annotations: z.record(z.string(), z.string()).optional() }),
      spec: z.strictObject({
        automountServiceAccountToken: z.boolean().optional(),
        terminationGracePeriodSeconds: z.number().int().min(0).optional(),
        securityContext: PodSecurityContext,
        affinity: z.record(z.string(), z.unknown()).optional(),
        containers: z.array(Container).min(1),
        volumes: z.array(Volume).default([]),
      }),
    }),
  }),
});

export const Service = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: Metadata,
  spec: z.strictObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    selector: labels,
    ports: z
      .array(
        z.strictObject({
          name: portName,
          port: z.number().int().min(1).max(65535),
          protocol: z.enum(['TCP', 'UDP']).default('TCP'),
          targetPort: portRef,
        }),
      )
      .min(1),
  }),
});

export const PodDisruptionBudget = z.strictObject({
  apiVersion: z.literal('policy/v1'),
  kind: z.literal('PodDisruptionBudget'),
  metadata: Metadata,
  spec: z.strictObject({
    minAvailable: z.union([z.number().int().min(0), z.string()]).optional(),
    maxUnavailable: z.union([z.number().int().min(0), z.string()]).optional(),
    selector: Selector,
  }),
});

export const ConfigMap = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: Metadata,
  data: z.record(z.string(), z.string()),
});

export const Secret = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: Metadata,
  type: z.string().default('Opaque'),
  stringData: z.record(z.string(), z.string()),
});

export const Namespace = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: Metadata,
});

export const Kustomization = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  namespace: dnsLabel.optional(),
  resources: z.array(z.string()).min(1),
  images: z.array(z.strictObject({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional() })).optional(),
});

/** The schema of each kind deploy/k8s may contain (apiVersion is checked by the schema). */
export const KINDS = { Deployment, Service, PodDisruptionBudget, ConfigMap, Secret, Namespace } as const;
export type Kind = keyof typeof KINDS;

export type DeploymentT = z.infer<typeof Deployment>;
export type ServiceT = z.infer<typeof Service>;
export type PdbT = z.infer<typeof PodDisruptionBudget>;
export type ConfigMapT = z.infer<typeof ConfigMap>;
export type SecretT = z.infer<typeof Secret>;
export type ContainerT = z.infer<typeof Container>;
