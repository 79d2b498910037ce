// ESLint flat config: typescript-eslint's recommended rules over every TypeScript file;
// generated protobuf types are excluded (they are checked by `npm run check:generated`).
// It also enforces the layers (docs/architecture.md): client/ never imports server/ or
// native/, common/ imports none of server/, native/, client/, and only native/binding.ts
// loads the `.node` binary (everything else goes through native/index.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Restrictions every TypeScript file but native/binding.ts obeys. */
const ADDON_RULES = {
  paths: [
    {
      name: 'node:module',
      importNames: ['createRequire'],
      message: 'Only native/binding.ts loads native code; import the typed API from native/index.ts.',
    },
    {
      name: 'module',
      importNames: ['createRequire'],
      message: 'Only native/binding.ts loads native code; import the typed API from native/index.ts.',
    },
  ],
  patterns: [
    { regex: '\\.node$', message: 'Only native/binding.ts loads the .node binary; import native/index.ts.' },
    {
      regex: '(^|/)native/binding$',
      message: 'native/binding.ts is the raw addon contract; import the typed API from native/index.ts.',
    },
  ],
};

/** ADDON_RULES plus a ban on importing the given top-level folders. */
function layerRule(folders, why) {
  return [
    'error',
    {
      paths: ADDON_RULES.paths,
      patterns: [...ADDON_RULES.patterns, { regex: `(^|/)(${folders.join('|')})(/|$)`, message: why }],
    },
  ];
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'native/build/',
      'protos/generated/',
      'data/',
      '.bench-out/',
      '.device/',
      '.build/',
      'client/dist/',
      'client/protos/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      // TypeScript already checks names; the core rule does not know Node's or DOM's globals.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['native/binding.ts'],
    rules: { 'no-restricted-imports': ['error', ADDON_RULES] },
  },
  {
    // The native tests check the raw contract itself (code tables, errors straight from the addon).
    files: ['test/native/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ADDON_RULES.paths, patterns: ADDON_RULES.patterns.slice(0, 1) }],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        ['server', 'native'],
        'client/ runs on worker machines without the server or the addon: code both sides use belongs in common/.',
      ),
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        ['server', 'native', 'client'],
        'common/ is the leaf both client/ and server/ import: it depends on no other folder of ours but protos/.',
      ),
    },
  },
);
