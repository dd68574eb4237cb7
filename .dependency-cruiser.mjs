/**
 * Layer rules, checked by `npm run lint` (dependency-cruiser; https://github.com/sverweij/dependency-cruiser).
 * Type-only imports count: a type ties two files together as surely as a value does.
 * README.md ("Layers") says the same in prose.
 */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle lets load order decide behaviour and hides which part depends on which.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'infra-http-independent',
      severity: 'error',
      comment:
        'src/infra and src/http are the plumbing every module uses: they take values passed in and never ' +
        'import a domain module, the configuration schema or the development secrets file.',
      from: { path: '^src/(infra|http)/' },
      to: { path: ['^src/modules/', '^src/config\\.ts$', '^src/dev-secrets\\.ts$'] },
    },
    {
      name: 'production-without-dev-tools',
      severity: 'error',
      comment:
        'Production code runs from `npm ci --omit=dev`, where benchmarks, simulators and tests are absent. ' +
        'The simulator and the benchmarks are loaded at run time through src/dev-tools.ts, which says ' +
        'clearly when they are not installed.',
      from: { path: '^src/' },
      to: { path: '^(bench|tools|test)/' },
    },
    {
      name: 'modules-through-index',
      severity: 'error',
      comment:
        "A module uses another module only through that module's index.ts, its public surface, and its " +
        "schema.ts, its tables (other modules' foreign keys and joins name them); the rest of the folder " +
        'is internal and free to change.',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/(index|schema)\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '^test/atproto/', '^web/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
