/**
 * The source's layering, enforced by `npm run lint` (dependency-cruiser): a module may import from its
 * own layer and the layers below it, never from a layer above, and no import circle is allowed.
 * ARCHITECTURE.md explains the layers.
 */
const LAYERS = [
  // 0: the vocabulary everything shares
  ['^src/errors\\.ts$', '^src/sse/', '^src/answer/', '^src/chat/', '^src/json/'],
  // 1: the prefill contract itself
  ['^src/prefill/'],
  // 2: upstream dialects, HTTP to upstreams, metrics, client keys
  ['^src/providers/', '^src/upstream/', '^src/telemetry/', '^src/auth/'],
  // 3: configuration
  ['^src/config/'],
  // 4: model routing
  ['^src/routing/'],
  // 5: the request pipeline
  ['^src/pipeline/'],
  // 6: the front doors (HTTP adapters)
  ['^src/doors/'],
  // 7: the server
  ['^src/app\\.ts$', '^src/main\\.ts$'],
];

const above = (index) => LAYERS.slice(index + 1).flat();

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import circles make layers meaningless and modules impossible to load alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((paths, index) => ({
      name: `layer-${index}-imports-upward`,
      severity: 'error',
      comment: `A module of layer ${index} (${paths.join(', ')}) imports from a layer above it: move the shared code down, or the type to where it belongs.`,
      from: { path: paths },
      to: { path: above(index) },
    })),
    {
      name: 'every-module-has-a-layer',
      severity: 'error',
      comment: 'A new folder under src/ needs a place in the layering (.dependency-cruiser.cjs).',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: LAYERS.flat() },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
