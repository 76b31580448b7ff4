/**
 * The commands' checks of numbers and names given on the command line. Values are read as text so that an error can
 * quote exactly what was given; every failure is a UsageError naming the flag, the value and what is accepted.
 */
import { UsageError } from '../usage-error.ts';

function numberText(flag: string, given: unknown): { text: string; value: number } {
  if (Array.isArray(given)) throw new UsageError(`--${flag} is given more than once`);
  const text = String(given);
  return { text, value: text.trim() === '' ? NaN : Number(text) };
}

/** An integer >= `min` (default 1); undefined when the flag is absent. */
export function integerArgument(flag: string, given: unknown, min = 1): number | undefined {
  if (given === undefined) return undefined;
  const { text, value } = numberText(flag, given);
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(
      `--${flag} '${text}' is invalid: expected ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}`,
    );
  return value;
}

/** A finite number > 0; undefined when the flag is absent. */
export function positiveNumberArgument(flag: string, given: unknown): number | undefined {
  if (given === undefined) return undefined;
  const { text, value } = numberText(flag, given);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${flag} '${text}' is invalid: expected a positive number`);
  return value;
}

/** A finite number >= 0; undefined when the flag is absent. */
export function nonNegativeNumberArgument(flag: string, given: unknown): number | undefined {
  if (given === undefined) return undefined;
  const { text, value } = numberText(flag, given);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`--${flag} '${text}' is invalid: expected a number >= 0`);
  return value;
}

/** One of `accepted`; undefined when the flag is absent. */
export function choiceArgument<T extends string>(flag: string, given: unknown, accepted: readonly T[]): T | undefined {
  if (given === undefined) return undefined;
  if (Array.isArray(given)) throw new UsageError(`--${flag} is given more than once`);
  const text = String(given);
  if (!(accepted as readonly string[]).includes(text))
    throw new UsageError(`--${flag} '${text}' is invalid: accepted values are ${accepted.join(', ')}`);
  return text as T;
}

/** A comma-separated list without empty items; undefined when the flag is absent. */
export function listArgument(flag: string, given: unknown): string[] | undefined {
  if (given === undefined) return undefined;
  if (Array.isArray(given)) throw new UsageError(`--${flag} is given more than once`);
  const items = String(given)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0)
    throw new UsageError(`--${flag} '${String(given)}' is invalid: expected a comma-separated list`);
  return items;
}
