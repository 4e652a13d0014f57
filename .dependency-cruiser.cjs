/**
 * Import rules for src/ (npm test runs them): no cycles, type-only imports included, and data moving one way
 * through the folders in the order of docs/architecture.md. A layer may import the layers below it, never
 * one above; within a layer, the arrows given by `within` only.
 */
const layers = [
  ['^src/cli\\.ts$', '^src/process/'],
  ['^src/app\\.ts$', '^src/services\\.ts$'],
  ['^src/routes/', '^src/admin/', '^src/migrate/'],
  ['^src/proxy/'],
  ['^src/http/'],
  ['^src/pages/'],
  ['^src/session/', '^src/oidc/', '^src/policy/'],
  ['^src/observability/', '^src/config/'],
  ['^src/errors\\.ts$', '^src/identity\\.ts$', '^src/url/'],
];
/** Same-layer folders that must not import each other in this direction ([from, to]). */
const sameLayerForbidden = [
  ['^src/oidc/', '^src/session/'],
  ['^src/policy/', '^src/(session|oidc)/'],
  ['^src/config/', '^src/observability/'],
  ['^src/(admin|migrate)/', '^src/routes/'],
  ['^src/migrate/', '^src/admin/'],
];

const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'A cycle means two modules cannot be understood (or tested) apart.',
    from: {},
    to: { circular: true },
  },
  ...layers.flatMap((layer, index) =>
    layers.slice(0, index).map((above) => ({
      name: 'layer-order',
      severity: 'error',
      comment: 'Data moves one way: a lower layer never imports a higher one.',
      from: { path: layer },
      to: { path: above },
    })),
  ),
  ...sameLayerForbidden.map(([from, to]) => ({
    name: 'same-layer-direction',
    severity: 'error',
    comment: 'Folders on one layer import each other in one direction only.',
    from: { path: from },
    to: { path: to },
  })),
  {
    name: 'raw-config-only-in-config',
    severity: 'error',
    comment: 'Only config/ reads files as configuration; nothing imports the YAML loader but the process.',
    from: { path: '^src/', pathNot: '^src/(config|process|cli\\.ts)' },
    to: { path: '^src/config/load\\.ts$' },
  },
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
