/**
 * A WHATWG Response over a body already read into memory, for the provider fetch (provider-fetch.ts).
 * `new Response(buffer)` wraps the buffer in a web ReadableStream at once, and `json()` reads it back through
 * that stream's reader and controller: for a 1-2 KB token answer that was most of the fetch's own cost at
 * login. This one keeps the bytes and parses them directly; a stream is built only if someone asks for
 * `body`. It is a real Response (status, headers, instanceof), as openid-client requires.
 */

/** Decodes UTF-8 and drops a byte order mark, as Response#text() does. */
const UTF8 = new TextDecoder();

/**
 * Response's constructor, typed as what is used of it here: the Node typings declare a Response's methods as
 * properties, which a subclass may not with methods.
 */
const ResponseBase = Response as unknown as new (body: null, init: ResponseInit) => Pick<Response, 'status' | 'statusText' | 'headers'>;

/** A Response whose body is a Buffer held in memory, read once like any Response (see the file comment). */
export function bufferedResponse(bytes: Buffer | null, init: ResponseInit): Response {
  return new BufferedResponse(bytes, init) as unknown as Response;
}

class BufferedResponse extends ResponseBase {
  readonly #bytes: Buffer | null;
  #used = false;
  #stream: ReadableStream<Uint8Array> | null | undefined;

  constructor(bytes: Buffer | null, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#stream?.locked ?? false);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined) this.#stream = this.#bytes === null || this.#used ? null : new Blob([this.#bytes]).stream();
    return this.#stream;
  }

  text(): Promise<string> {
    return this.#take().then((bytes) => UTF8.decode(bytes));
  }

  json(): Promise<unknown> {
    return this.#take().then((bytes) => JSON.parse(UTF8.decode(bytes)) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#take().then((bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  blob(): Promise<Blob> {
    return this.#take().then((bytes) => new Blob([bytes], { type: this.headers.get('content-type') ?? '' }));
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    return bufferedResponse(this.#bytes, { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  /** The body, once: a second read fails as it does on any Response. */
  #take(): Promise<Buffer> {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.#used = true;
    return Promise.resolve(this.#bytes ?? Buffer.alloc(0));
  }
}
