// request-transformer body operations: Kong 3.x's table, each operation on JSON, urlencoded and
// multipart bodies (multipart: rename before remove, replace moves the part last, no append),
// an absent body, other content types, bodies that do not parse, the 1 MiB bound (Content-Length
// and chunked), JSON keys and form fields in another case, the framing the upstream gets, the body key-auth
// already replaced, and the configs refused on write; through the gateway to a Node upstream
// that records the bytes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
import { type BodyRig, startBodyRig } from "../../tests/support/body-rig.ts";

const CONFIG = {
  remove: { body: ["secret"] },
  rename: { body: ["old:renamed"] },
  replace: { body: ["mode:replaced", "absent:never"] },
  add: { body: ["source:gateway", "mode:not-added", "count:3"] },
  append: { body: ["list:2", "tags:a"] },
};
const JSON_TYPE = { "content-type": "application/json" };
const FORM = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
const BOUNDARY = "XyZ-boundary-42";
const MULTIPART = { "content-type": `multipart/form-data; boundary="${BOUNDARY}"` };

function multipart(fields: [name: string, value: string, extraHeaders?: string][]): string {
  let text = "";
  for (const [name, value, extra] of fields) text += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${extra ?? ""}\r\n\r\n${value}\r\n`;
  return `${text}--${BOUNDARY}--\r\n`;
}

/** The form fields of a multipart body as the upstream could read them, in order. */
async function formFields(body: Buffer): Promise<[string, string][]> {
  const form = await new Response(body, { headers: MULTIPART }).formData();
  return Promise.all([...form.entries()].map(async ([name, value]) => [name, typeof value === "string" ? value : `file ${value.name}: ${await value.text()}`] as [string, string]));
}

function transformerRig(config: Record<string, unknown>, before: { name: string; config: Record<string, unknown> }[] = []): Promise<BodyRig> {
  return startBodyRig((gateway, routeId) => {
    for (const plugin of [...before, { name: "request-transformer", config }]) gateway.store.create("plugins", { ...plugin, route: { id: routeId } });
  });
}

describe("request-transformer body: Kong's table", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await transformerRig(CONFIG);
  });
  afterAll(() => r.close());

  test("JSON: remove, rename, replace (if present), add (if absent), append; values stay strings", async () => {
    const got = await r.send(JSON.stringify({ secret: 1, old: "o", mode: "m", list: "1", keep: { deep: [1, null] } }), { headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('{"mode":"replaced","list":["1","2"],"keep":{"deep":[1,null]},"renamed":"o","source":"gateway","count":"3","tags":["a"]}');
    expect(got.header("content-length")).toEqual([String(got.body.length)]);
  });

  test("JSON: Kong's append keeps a string, grows an array, and replaces any other value by [value]", async () => {
    const got = await r.send(JSON.stringify({ list: [1], tags: 7 }), { headers: JSON_TYPE });
    expect(JSON.parse(got.body.toString())).toEqual({ list: [1, "2"], tags: ["a"], source: "gateway", mode: "not-added", count: "3" });
  });

  test("JSON: false counts as absent (Lua's truth): replace skips it, add overwrites it", async () => {
    const got = await r.send(JSON.stringify({ mode: false }), { headers: JSON_TYPE });
    expect(JSON.parse(got.body.toString()).mode).toBe("not-added");
  });

  test("urlencoded: the same operations; untouched pairs stay as sent, repeated names are appended to", async () => {
    const got = await r.send("secret=1&old=o&mode=m&list=1&keep=a+b%21", { headers: FORM });
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe("mode=replaced&list=1&list=2&keep=a+b%21&renamed=o&source=gateway&count=3&tags=a");
    expect(got.header("content-length")).toEqual([String(got.body.length)]);
  });

  test("urlencoded: values are encoded, non-ASCII as UTF-8", async () => {
    const rig = await transformerRig({ add: { body: ["note:a b&c=ü"] } });
    try {
      const got = await rig.send("x=1", { headers: FORM });
      expect(got.body.toString()).toBe("x=1&note=a%20b%26c%3D%C3%BC");
      expect(new URLSearchParams(got.body.toString()).get("note")).toBe("a b&c=ü");
    } finally {
      await rig.close();
    }
  });

  test("multipart: rename, remove, replace (the part moves last), add; no append; file parts kept as sent", async () => {
    const file: [string, string, string] = ["upload", "raw\r\nbytes", '; filename="a.txt"\r\nContent-Type: text/plain'];
    const got = await r.send(multipart([["secret", "1"], ["old", "o"], ["mode", "m"], ["list", "1"], file]), { headers: MULTIPART });
    expect(got.status).toBe(200);
    expect(await formFields(got.body)).toEqual([
      ["list", "1"],
      ["upload", "file a.txt: raw\r\nbytes"],
      ["renamed", "o"],
      ["mode", "replaced"],
      ["source", "gateway"],
      ["count", "3"],
    ]);
    expect(got.body.toString()).toContain(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nraw\r\nbytes\r\n`);
    expect(got.header("content-length")).toEqual([String(got.body.length)]);
  });

  const absent: [string, Record<string, string>, string][] = [
    ["JSON", JSON_TYPE, '{"source":"gateway","mode":"not-added","count":"3","list":["2"],"tags":["a"]}'],
    ["urlencoded", FORM, "source=gateway&mode=not-added&count=3&list=2&tags=a"],
  ];
  for (const [format, headers, expected] of absent) {
    test(`${format}, no body: add and append make one (Kong); remove, rename and replace have nothing to act on`, async () => {
      const got = await r.send(null, { headers });
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe(expected);
      expect(got.header("content-length")).toEqual([String(expected.length)]);
    });
  }

  test("a chunked body under the bound: transformed, sent with a Content-Length and no Transfer-Encoding", async () => {
    const got = await r.send("secret=1&keep=2", { headers: FORM, chunked: true });
    expect(got.body.toString()).toBe("keep=2&source=gateway&mode=not-added&count=3&list=2&tags=a");
    expect(got.header("content-length")).toEqual([String(got.body.length)]);
    expect(got.header("transfer-encoding")).toEqual([]);
  });

  const untouched: [string, string, Record<string, string>, boolean][] = [
    ["another content type", "secret=1", { "content-type": "text/plain" }, false],
    ["no Content-Type", "secret=1", {}, false],
    ["a JSON array", '[{"secret":1}]', JSON_TYPE, false],
  ];
  for (const [name, body, headers, chunked] of untouched) {
    test(`${name}: passes byte-identical`, async () => {
      const got = await r.send(body, { headers, chunked });
      expect(got.status).toBe(200);
      expect(got.body.equals(Buffer.from(body))).toBe(true);
    });
  }

  // Kong sends these on untouched, with the field it was to remove; an upstream that reads them
  // another way (Python's json reads NaN) would get it.
  const refused: [string, string, Record<string, string>, boolean, number, string][] = [
    ["JSON that does not parse", '{"secret":1', JSON_TYPE, false, 400, "the request body does not parse as application/json, so request-transformer cannot remove, rename or replace its fields"],
    ["JSON with a NaN", '{"secret":1,"n":NaN}', JSON_TYPE, false, 400, "the request body does not parse as application/json, so request-transformer cannot remove, rename or replace its fields"],
    ["a multipart body without its boundary", "--other\r\nContent-Disposition: form-data; name=\"secret\"\r\n\r\n1\r\n--other--\r\n", MULTIPART, false, 400, "the request body does not parse as multipart/form-data, so request-transformer cannot remove, rename or replace its fields"],
    ["a JSON body over 1 MiB (Content-Length)", JSON.stringify({ secret: 1, pad: "x".repeat(MAX_BUFFERED_BODY_BYTES) }), JSON_TYPE, false, 413, "the request body is larger than 1 MiB, so request-transformer cannot remove, rename or replace its fields"],
    ["a chunked urlencoded body over 1 MiB", `secret=1&pad=${"x".repeat(MAX_BUFFERED_BODY_BYTES)}&end=1`, FORM, true, 413, "the request body is larger than 1 MiB, so request-transformer cannot remove, rename or replace its fields"],
  ];
  for (const [name, body, headers, chunked, status, message] of refused) {
    test(`${name}: ${status}, nothing upstream (the plugin removes, renames and replaces fields)`, async () => {
      const got = await r.send(body, { headers, chunked });
      expect({ status: got.status, body: JSON.parse(got.text) }).toEqual({ status, body: { message } });
      expect(got.body.length).toBe(0);
    });
  }

  // Go's encoding/json decodes a body whatever its Content-Type; FastAPI and Python's json.loads
  // read one without a Content-Type, behind a byte order mark or in UTF-16.
  const undeclared = (type: string | null) => `the request body is a JSON object but ${type === null ? "it has no Content-Type" : `its Content-Type is ${type}`}, so request-transformer cannot remove, rename or replace its fields; send it as application/json`;
  const TEXT = { "content-type": "text/plain; charset=utf-8" };
  const undeclaredJson: [string, string | Uint8Array, Record<string, string>, boolean, number, string][] = [
    ["a JSON object sent as text/plain", '{"secret":1}', TEXT, false, 415, undeclared("text/plain")],
    ["a JSON object without a Content-Type", '{"secret":1}', {}, false, 415, undeclared(null)],
    ["a JSON object as an octet stream, chunked", '{"secret":1}', { "content-type": "application/octet-stream" }, true, 415, undeclared("application/octet-stream")],
    ["a JSON object behind 100 spaces and a byte order mark, chunked", `${" ".repeat(100)}\uFEFF\n{"secret":1}`, TEXT, true, 415, undeclared("text/plain")],
    ["a JSON object sent as a urlencoded form (one field name to a form reader)", ' {"secret":1}', FORM, false, 415, undeclared("application/x-www-form-urlencoded")],
    ["a UTF-16 JSON object without a Content-Type", Buffer.from('\uFEFF{"secret":1}', "utf16le"), {}, false, 415, undeclared(null)],
    ["a JSON object behind 2 MiB of spaces", `${" ".repeat(2 * MAX_BUFFERED_BODY_BYTES)}{"secret":1}`, TEXT, false, 413, "the request body is larger than 1 MiB, so request-transformer cannot remove, rename or replace its fields"],
    // Gson (`new Gson().fromJson`, lenient) skips comments and its `)]}'` prefix before the value.
    ["a JSON object behind a /* */ comment (Gson)", '/**/{"secret":1}', TEXT, false, 415, undeclared("text/plain")],
    ["a JSON object behind a # line, without a Content-Type (Gson)", '# note\r{"secret":1}', {}, false, 415, undeclared(null)],
    ["a JSON object behind Gson's )]}' prefix and a // line, chunked", `)]}'\n// ${"x".repeat(200)}\n  {"secret":1}`, { "content-type": "application/octet-stream" }, true, 415, undeclared("application/octet-stream")],
    ["a UTF-16 JSON object behind a no-break space (.NET's StreamReader and Json.NET skip it)", Buffer.from('\uFEFF\u00a0\u3000{"secret":1}', "utf16le"), {}, false, 415, undeclared(null)],
    ["a UTF-16BE JSON object without a byte order mark", Buffer.from(Buffer.from(' {"secret":1}', "utf16le").map((_, i, all) => all[i ^ 1]!)), TEXT, false, 415, undeclared("text/plain")],
    ["a JSON object behind a comment in UTF-16 (not followed: refused)", Buffer.from('/*\u2f2a x */{"secret":1}', "utf16le"), TEXT, false, 415, undeclared("text/plain")],
    ["a JSON object behind a comment, declared urlencoded", '/* */{"secret":1}', FORM, false, 415, undeclared("application/x-www-form-urlencoded")],
    // org.json's JSONTokener passes over every control character, Json.NET over Unicode's white space.
    ["a JSON object behind a vertical tab, a form feed and a no-break space (org.json, Json.NET)", '\u000b\u000c\u00a0\u3000{"secret":1}', TEXT, false, 415, undeclared("text/plain")],
    // Jackson's readValue and Go's json.Decoder read the first value and leave the rest; a multipart parser drops the preamble.
    ["a JSON object as the preamble of a multipart body (Jackson, Go's json.Decoder)", `{"secret":1}\r\n${multipart([["keep", "1"]])}`, MULTIPART, false, 415, undeclared("multipart/form-data")],
    // Express's `express.json({ type: "*/*" })` decodes any utf-* charset (iconv-lite), a servlet's getReader any the JDK has.
    ["a JSON object in UTF-7 (+AHs- is {) sent as text/plain (Express)", '+AHs-"secret":1}', { "content-type": "text/plain; charset=utf-7" }, false, 415, "the request body's charset is utf-7, so request-transformer cannot remove, rename or replace its fields"],
    ["a JSON object in EBCDIC ({ is 0xC0) as an octet stream (Java's getReader)", Buffer.from([0xc0, 0x7f, 0xa2, 0x7f, 0x7a, 0xf1, 0xd0]), { "content-type": "application/octet-stream; charset=IBM037" }, false, 415, "the request body's charset is ibm037, so request-transformer cannot remove, rename or replace its fields"],
    ["a UTF-7 JSON object declared urlencoded (Express's json parser for */*)", '+AHs-"secret":1}', { "content-type": "application/x-www-form-urlencoded; charset=utf-7" }, false, 415, "the request body's charset is utf-7, so request-transformer cannot remove, rename or replace its fields"],
    // Express's json parser inflates a gzip or deflate body whatever its type.
    ["a gzipped JSON object sent as text/plain (Express)", Bun.gzipSync('{"secret":1}'), { ...TEXT, "content-encoding": "gzip" }, false, 415, "the request body is content-encoded, so request-transformer cannot remove, rename or replace its fields"],
  ];
  for (const [name, body, headers, chunked, status, message] of undeclaredJson) {
    test(`${name}: ${status}, nothing upstream`, async () => {
      const got = await r.send(body, { headers, chunked });
      expect({ status: got.status, body: JSON.parse(got.text) }).toEqual({ status, body: { message } });
      expect(got.body.length).toBe(0);
    });
  }

  test("a body of another type that is no JSON object passes byte-identical, a large one too (only its start is read first)", async () => {
    const large = Buffer.alloc(3 * MAX_BUFFERED_BODY_BYTES, "abc{");
    for (const [body, headers, chunked] of [
      ["not {json}", TEXT, false],
      ['[{"secret":1}]', TEXT, false],
      ["   ", {}, false],
      ["# notes\n- {item}", TEXT, false],
      ["/* a */ b {", TEXT, true],
      ["/ {", TEXT, false],
      ["/* open {", TEXT, false],
      [Buffer.from("caf\xe9 {", "latin1"), { "content-type": "text/plain; charset=ISO-8859-1" }, false],
      [large, { "content-type": "application/octet-stream" }, false],
      [large, { "content-type": "application/octet-stream" }, true],
    ] as [string | Buffer, Record<string, string>, boolean][]) {
      const got = await r.send(body, { headers, chunked });
      expect({ status: got.status, same: got.body.equals(Buffer.from(body)) }).toEqual({ status: 200, same: true });
    }
  });

  test("with only add and append (nothing of the client's to guard), such bodies pass byte-identical, as in Kong; so does a content-encoded one", async () => {
    const adding = await transformerRig({ add: { body: ["source:gateway"] }, append: { body: ["tags:a"] } });
    try {
      // (The form gets the added fields, as Kong adds them to any urlencoded body.)
      for (const [name, body, headers, chunked] of [...refused, ...undeclaredJson.filter(([, , headers]) => headers["content-type"]?.match(/^(application\/x-www-form-urlencoded|multipart\/)/) == null)]) {
        const got = await adding.send(body, { headers, chunked });
        expect({ name, status: got.status, same: got.body.equals(Buffer.from(body)) }).toEqual({ name, status: 200, same: true });
      }
      const gzipped = Bun.gzipSync("secret=1");
      const encoded = await adding.send(gzipped, { headers: { ...FORM, "content-encoding": "gzip" } });
      expect({ status: encoded.status, same: encoded.body.equals(Buffer.from(gzipped)) }).toEqual({ status: 200, same: true });
    } finally {
      await adding.close();
    }
  });

  test("GET carries no body upstream: nothing is added", async () => {
    const got = await r.send(null, { method: "GET", headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(got.body.length).toBe(0);
  });
});

// Go's encoding/json fills a field from every key equal to its name under simple case folding,
// each in turn (the last in the body stays); ASP.NET Core's System.Text.Json web defaults match
// keys ignoring case too. A JSON key in another spelling is the field for every operation.
describe("request-transformer body: a JSON key in another case is the field (Go's encoding/json, ASP.NET Core)", () => {
  const operations: [Record<string, unknown>, [name: string, body: string, expected: string][]][] = [
    [
      { remove: { body: ["is_admin"] } },
      [
        ["IS_ADMIN, Is_Admin and iſ_admin (U+017F) go with is_admin", '{"IS_ADMIN":true,"Is_Admin":true,"i\u017f_admin":true,"note":"hi"}', '{"note":"hi"}'],
        ["the exact name first and last, another spelling between: all go", '{"is_admin":false,"IS_ADMIN":true,"is_admin":false}', "{}"],
        ["İs_admin, ıs_admin and is_admın are other names for Go too: they stay", '{"\u0130s_admin":1,"\u0131s_admin":2,"is_adm\u0131n":3,"is_admin":4}', '{"\u0130s_admin":1,"\u0131s_admin":2,"is_adm\u0131n":3}'],
      ],
    ],
    [
      { rename: { body: ["kind:type"] } },
      [
        ["a key with the Kelvin sign U+212A for k moves, and only the new name arrives", '{"\u212aind":"admin","note":"hi"}', '{"note":"hi","type":"admin"}'],
        ["the exact name first and last, KIND between: the last one's value moves", '{"kind":"a","KIND":"b","kind":"c"}', '{"type":"c"}'],
        ["the value is the last spelling's in the body, not the exact name's", '{"KIND":"a","kind":"b","Kind":"c"}', '{"type":"c"}'],
        ["a spelling written with escapes counts where it stands", '{"KIND":"a","kind":"b","\\u004bIND":"c"}', '{"type":"c"}'],
        ["a key inside another object or a string is not a spelling of the field", '{"kind":"a","KIND":"b","x":{"kind":"nested"},"y":"\\",\\"kind\\":"}', '{"x":{"kind":"nested"},"y":"\\",\\"kind\\":","type":"b"}'],
      ],
    ],
    [
      { replace: { body: ["mode:replaced"] } },
      [
        ["MODE is the field; it ends under its configured name only", '{"MODE":"m","note":"hi"}', '{"note":"hi","mode":"replaced"}'],
        ["the exact name in place, its other spellings gone", '{"mode":"a","Mode":"b","x":1}', '{"mode":"replaced","x":1}'],
      ],
    ],
    [{ add: { body: ["source:gateway"] } }, [["SOURCE is the field, present: nothing is added (Kong's add)", '{"SOURCE":"client"}', '{"SOURCE":"client"}']]],
    [{ append: { body: ["tags:a"] } }, [["to the last spelling's value, under the configured name only", '{"tags":["x"],"TAGS":"y"}', '{"tags":["y","a"]}']]],
  ];
  for (const [config, cases] of operations) {
    describe(JSON.stringify(config), () => {
      let r: BodyRig;
      beforeAll(async () => {
        r = await transformerRig(config);
      });
      afterAll(() => r.close());
      for (const [name, body, expected] of cases) {
        test(name, async () => {
          const got = await r.send(body, { headers: JSON_TYPE });
          expect({ status: got.status, body: got.body.toString() }).toEqual({ status: 200, body: expected });
        });
      }
    });
  }
});

describe("request-transformer body: a form field in another case is the field (ASP.NET Core's form collection)", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await transformerRig({ remove: { body: ["is_admin"] }, rename: { body: ["kind:type"] } });
  });
  afterAll(() => r.close());

  test("urlencoded: IS_ADMIN and iſ_admin go with is_admin; KIND is renamed", async () => {
    const got = await r.send("IS_ADMIN=1&i%C5%BF_admin=2&note=hi&KIND=a", { headers: FORM });
    expect({ status: got.status, body: got.body.toString() }).toEqual({ status: 200, body: "note=hi&type=a" });
  });

  test("multipart: a part named Is_Admin goes with is_admin", async () => {
    const got = await r.send(multipart([["Is_Admin", "1"], ["note", "hi"]]), { headers: MULTIPART });
    expect(got.status).toBe(200);
    expect(await formFields(got.body)).toEqual([["note", "hi"]]);
  });

  test("urlencoded: names folding keeps apart stay (İs_admin)", async () => {
    const got = await r.send("%C4%B0s_admin=1&note=hi", { headers: FORM });
    expect({ status: got.status, body: got.body.toString() }).toEqual({ status: 200, body: "%C4%B0s_admin=1&note=hi" });
  });
});

describe("request-transformer body beside other plugins and operations", () => {
  test("a body no operation changes goes as sent (Kong would re-encode it)", async () => {
    const r = await transformerRig({ remove: { body: ["absent"] } });
    try {
      const got = await r.send('{ "a" : 1 }', { headers: JSON_TYPE });
      expect(got.body.toString()).toBe('{ "a" : 1 }');
    } finally {
      await r.close();
    }
  });

  test("the Content-Type of the client's request decides, not the one a header operation sets", async () => {
    const r = await transformerRig({ replace: { headers: ["content-type:application/json"] }, add: { body: ["b:2"] } });
    try {
      const got = await r.send("a=1", { headers: FORM });
      expect(got.body.toString()).toBe("a=1&b=2");
      expect(got.header("content-type")).toEqual(["application/json"]);
    } finally {
      await r.close();
    }
  });

  test("after key-auth hid the key in the body, request-transformer reads the body key-auth left", async () => {
    const r = await startBodyRig((gateway, routeId) => {
      const alice = gateway.store.create("consumers", { username: "alice" });
      gateway.store.create("keyauth_credentials", { key: "k-123456789" }, { kind: "consumers", id: alice.id });
      gateway.store.create("plugins", { name: "key-auth", route: { id: routeId }, config: { key_in_body: true, hide_credentials: true } });
      gateway.store.create("plugins", { name: "request-transformer", route: { id: routeId }, config: { add: { body: ["team:billing"] } } });
    });
    try {
      const got = await r.send(JSON.stringify({ apikey: "k-123456789", q: "x" }), { headers: JSON_TYPE, chunked: true });
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('{"q":"x","team":"billing"}');
      expect(got.header("x-consumer-username")).toEqual(["alice"]);
    } finally {
      await r.close();
    }
  });
});

describe("request-transformer body to a balanced service", () => {
  test("the new body goes to the chosen target with its Content-Length", async () => {
    const r = await startBodyRig((gateway, routeId) => {
      const service = gateway.store.get("services", "node");
      const upstream = gateway.store.create("upstreams", { name: "node.upstream" });
      gateway.store.create("targets", { target: `127.0.0.1:${service.port}` }, { kind: "upstreams", id: upstream.id });
      gateway.store.update("services", "node", { host: "node.upstream" });
      gateway.store.create("plugins", { name: "request-transformer", route: { id: routeId }, config: { remove: { body: ["secret"] } } });
    });
    try {
      const got = await r.send('{"secret":1,"keep":2}', { headers: JSON_TYPE, chunked: true });
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('{"keep":2}');
      expect(got.header("content-length")).toEqual(["10"]);
      expect(got.header("transfer-encoding")).toEqual([]);
    } finally {
      await r.close();
    }
  });
});

describe("request-transformer body: refused on write", () => {
  test("a field name with a quote or control character, naming the item", async () => {
    const r = await transformerRig({});
    try {
      const create = (config: Record<string, unknown>) => () => r.gateway.store.create("plugins", { name: "request-transformer", config });
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ add: { body: ['a"b:1'] } }, /add\.body\[0\].*'a"b' cannot be a body field name: it holds a quote or a control character/],
        [{ remove: { body: ["ok", "bad\r\nX-Injected: 1"] } }, /remove\.body\[1\].*cannot be a body field name/],
        [{ rename: { body: ["from:to\u0000"] } }, /rename\.body\[0\].*cannot be a body field name/],
        [{ append: { body: ["no-colon"] } }, /append\.body/],
      ];
      for (const [config, message] of cases) expect(create(config)).toThrow(message);
      expect(create({ add: { body: ["a:b\"c"] }, replace: { body: ["x:"] } })).not.toThrow();
    } finally {
      await r.close();
    }
  });
});
