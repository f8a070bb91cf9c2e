// @ts-check
// Which handlers can read their `meta` argument. The fast path builds a meta object (a fresh one
// per handler call, so no handler sees another's changes) only for handlers that can; a handler
// that provably cannot gets `undefined` in its place, which it has no way to observe. Building
// metas no handler reads was the largest cost of a publish with distinct handlers (see
// docs/BENCHMARKS.md).
//
// A handler provably cannot read its second argument when its source (Function.prototype.toString)
// shows a parameter list of at most one parameter (an identifier or a destructuring pattern, with
// no default, rest, comment or string that could hide a second one), the words `arguments` and `eval` appear nowhere in it, it is
// not native or bound, and, unless it is an arrow function, it is not a sloppy-mode function
// (whose running call's arguments other code can read as `fn.arguments`). Anything the check
// does not recognise counts as a reader: the classification can only err towards building metas.

/** `Function.prototype.toString`, taken when the package loads (before app code could wrap it). */
const functionSource = Function.prototype.toString;

/**
 * The `arguments` getter of `Function.prototype`, taken when the package loads: where a sloppy-mode
 * function's `fn.arguments` comes from in engines that keep it there (SpiderMonkey; V8 gives
 * sloppy functions an own `arguments` property and this getter always throws).
 */
const argumentsGetter = Object.getOwnPropertyDescriptor(Function.prototype, 'arguments')?.get;

/** handler → whether it can read its second argument (classified once per function). */
const readers = new WeakMap();

/**
 * Characters that could hide a second parameter or the real end of the list: defaults (`=`), rest
 * (`...`), comments (`/`), nested calls or parentheses, strings.
 */
const OPAQUE_PARAMETER_TEXT = /[=./()'"`]/;
/** `p =>` (an arrow function's single unparenthesised parameter). */
const BARE_ARROW = /^[A-Za-z_$][\w$]*\s*=>/;
/** What may precede a non-arrow function's `(`: `function`, `function*`, a name, or a method name. */
const FUNCTION_HEAD = /^(?:function\s*\*?\s*(?:[A-Za-z_$][\w$]*\s*)?|[A-Za-z_$][\w$]*\s*)$/;

/**
 * Whether `handler` can read its second argument (its `meta`). Cached per function.
 * @param {Function} handler
 * @returns {boolean}
 */
export function readsMeta(handler) {
  let reads = readers.get(handler);
  if (reads === undefined) {
    reads = classify(handler);
    readers.set(handler, reads);
  }
  return reads;
}

/**
 * Whether a parameter list's text (between its parentheses) declares at most one parameter: an
 * identifier or one destructuring pattern, with nothing that could hide another.
 * @param {string} parameters
 */
function atMostOneParameter(parameters) {
  if (OPAQUE_PARAMETER_TEXT.test(parameters)) return false;
  let depth = 0;
  for (const c of parameters) {
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) return false;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * @param {Function} handler
 * @returns {boolean}
 */
function classify(handler) {
  // Nothing here may run the app's code: no property of the handler is read through a getter
  // or a proxy (a proxy's source reads as native code, so it stops at the first check).
  let source;
  try {
    source = functionSource.call(handler);
  } catch {
    return true;
  }
  if (typeof source !== 'string' || /arguments|eval|\[native code\]/.test(source)) return true;
  const text = source.replace(/^async\b\s*/, '');
  if (BARE_ARROW.test(text)) return false;
  const open = text.indexOf('(');
  if (open < 0) return true;
  const close = text.indexOf(')', open);
  if (close < 0 || !atMostOneParameter(text.slice(open + 1, close))) return true;
  if (open === 0) {
    // `(p) => ...`: an arrow function has no `arguments` of its own, none to expose either.
    return !/^\s*=>/.test(text.slice(close + 1));
  }
  if (!FUNCTION_HEAD.test(text.slice(0, open))) return true;
  return exposesArguments(handler);
}

/**
 * Whether other code can read a running call's arguments as `fn.arguments`: true for sloppy-mode
 * functions (an own `arguments` property in V8; `Function.prototype`'s getter answers for them in
 * SpiderMonkey), false for strict functions, methods and class members, for which that getter
 * throws. Reads no property through the function's own getters.
 * @param {Function} handler
 */
function exposesArguments(handler) {
  if (Object.getOwnPropertyDescriptor(handler, 'arguments') !== undefined) return true;
  if (argumentsGetter === undefined) return true;
  try {
    argumentsGetter.call(handler);
    return true;
  } catch {
    return false;
  }
}
