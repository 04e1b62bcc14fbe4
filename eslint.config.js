// ESLint (flat config): typescript-eslint's strict, type-checked rules over all TypeScript.
// Formatting is prettier's job (.prettierrc.json); no rule here concerns layout.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/out/', 'coverage/', 'build/', '.tmp/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Off: with noUncheckedIndexedAccess every index read is `T | undefined`; `!` marks a read the code has bounds-checked.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off: the escapers and binary-line checks match control characters on purpose.
      'no-control-regex': 'off',
      // Numbers print as themselves; the rule stays for undefined, null, objects and unions with them.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => resolve(x)` callbacks are the idiom; a void call returned from a block is still flagged.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // The kernel-line parser's FieldError is a deliberate stackless signal on the hot path, caught in the same module.
      '@typescript-eslint/only-throw-error': [
        'error',
        { allow: [{ from: 'file', name: 'FieldError' }], allowThrowingAny: false, allowThrowingUnknown: false },
      ],
    },
  },
  {
    files: ['src/audit/audit-log.ts', 'src/cli/wiring.ts'],
    // Off here: winston's transport classes are declared with `export =`, which the rule misreads as foreign instances.
    rules: { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' },
  },
  {
    files: ['__tests__/**/*.ts'],
    // Test fakes implement Promise-returning seams (runner, sleep, reader); `async` keeps a throw in them a rejection, as the real part's is.
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Plain JavaScript config files are not part of any tsconfig project.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
