/**
 * The Disposable idiom of VS Code's own `lifecycle.ts`, kept free of `vscode` so that
 * src/core runs in plain Node. The shapes match `vscode.Disposable` and `vscode.Event`,
 * so the extension passes these objects straight to the VS Code API.
 */

export interface IDisposable {
  dispose(): void;
}

export function toDisposable(fn: () => void): IDisposable {
  let done = false;
  return {
    dispose() {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}

export function disposeAll(items: Iterable<IDisposable>): void {
  const errors: unknown[] = [];
  for (const item of items) {
    try {
      item.dispose();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed');
}

/** Owns the disposables it registers and disposes them, newest first, with itself. */
export abstract class Disposable implements IDisposable {
  private readonly _store: IDisposable[] = [];
  private _isDisposed = false;

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }

  protected _register<T extends IDisposable>(value: T): T {
    if (this._isDisposed) {
      value.dispose();
    } else {
      this._store.push(value);
    }
    return value;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this._store.splice(0).reverse());
  }
}

let unexpectedErrorHandler: (err: unknown) => void = (err) => console.error(err);

/** Where a throwing event listener's error goes (the extension routes it to its log channel). */
export function setUnexpectedErrorHandler(handler: (err: unknown) => void): void {
  unexpectedErrorHandler = handler;
}

export type Event<T> = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: IDisposable[]) => IDisposable;

/** A minimal `vscode.EventEmitter`: `event` to subscribe, `fire` to notify, `dispose` to drop listeners. */
export class Emitter<T> implements IDisposable {
  private _listeners = new Set<(e: T) => unknown>();
  private _disposed = false;

  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const bound = thisArgs === undefined ? listener : listener.bind(thisArgs);
    if (this._disposed) return toDisposable(() => undefined);
    this._listeners.add(bound);
    const d = toDisposable(() => this._listeners.delete(bound));
    disposables?.push(d);
    return d;
  };

  fire(e: T): void {
    // A throwing listener must not starve the others.
    for (const listener of [...this._listeners]) {
      try {
        listener(e);
      } catch (err) {
        unexpectedErrorHandler(err);
      }
    }
  }

  dispose(): void {
    this._disposed = true;
    this._listeners.clear();
  }
}
