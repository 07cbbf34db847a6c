// Network configuration loading like libcni: lists and legacy files, cniVersions, the booleans,
// loadOnlyInlinedPlugins with the per-network plugin directory, directory searches, malformed files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  confFiles,
  loadConfFile,
  loadDefaultNetwork,
  loadNetworkByName,
  parseConfAsList,
  parseConfList,
} from '../../host/runtime/config.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const sb = new Sandbox();
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const list = (o: Record<string, unknown>): Uint8Array => enc({ name: 'net', plugins: [{ type: 'bridge' }], ...o });

const C = suite('runtime config');
C.after(() => sb.cleanup());

C('a list: name, version, plugins kept with their fields, bytes kept exactly', () => {
  const bytes = enc(
    '{"cniVersion":"1.0.0","name":"net","plugins":[{"type":"bridge","bridge":"br0","capabilities":{"mac":true}},{"type":"portmap"}]}\n',
  );
  const l = parseConfList(bytes);
  assert.is(l.name, 'net');
  assert.is(l.cniVersion, '1.0.0');
  assert.is(l.bytes, bytes);
  assert.equal(
    l.plugins.map((p) => p.network.type),
    ['bridge', 'portmap'],
  );
  assert.equal(l.plugins[0]!.raw, { bridge: 'br0', capabilities: { mac: true }, type: 'bridge' });
  assert.equal(l.plugins[0]!.network.capabilities, { mac: true });
  assert.equal([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins], [false, false, false]);
});

C('cniVersions: highest supported wins, newer than 1.1.0 dropped, merged with cniVersion', () => {
  assert.is(parseConfList(list({ cniVersions: ['0.4.0', '1.0.0', '0.3.1'] })).cniVersion, '1.0.0');
  assert.is(parseConfList(list({ cniVersions: ['1.0.0', '1.1.0', '1.2.0', '2.0.0'] })).cniVersion, '1.1.0');
  assert.is(parseConfList(list({ cniVersion: '0.4.0', cniVersions: ['9.9.9'] })).cniVersion, '0.4.0');
  assert.is(parseConfList(list({ cniVersion: '1.0.0', cniVersions: ['0.4.0'] })).cniVersion, '1.0.0');
  assert.is(parseConfList(list({ cniVersion: '0.3.1', cniVersions: ['0.4.0'] })).cniVersion, '0.4.0');
  assert.is(parseConfList(list({ cniVersions: [] })).cniVersion, '');
  // Without cniVersions, cniVersion is taken verbatim even when newer than we know.
  assert.is(parseConfList(list({ cniVersion: '1.2.3' })).cniVersion, '1.2.3');
  assert.throws(
    () => parseConfList(list({ cniVersions: ['1.0.x'] })),
    /error parsing configuration list: invalid cniVersions entry 1\.0\.x at index 0: failed to convert micro version part "x"/,
  );
  assert.throws(
    () => parseConfList(list({ cniVersions: [1] })),
    /^error parsing configuration list: invalid type for cniVersions index 0: float64$/,
  );
  assert.throws(
    () => parseConfList(list({ cniVersions: '1.0.0' })),
    /^error parsing configuration list: invalid type for cniVersions/,
  );
});

C('the booleans take JSON bools or "true"/"false" in any case', () => {
  const l = parseConfList(list({ disableCheck: 'TRUE', disableGC: true, loadOnlyInlinedPlugins: 'False' }));
  assert.equal([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins], [true, true, false]);
  assert.throws(
    () => parseConfList(list({ disableCheck: 'yes' })),
    /^error parsing configuration list: invalid value "yes" for disableCheck$/,
  );
  assert.throws(
    () => parseConfList(list({ disableGC: 1 })),
    /^error parsing configuration list: invalid type float64 for disableGC$/,
  );
});

C('list errors are worded like libcni', () => {
  assert.throws(() => parseConfList(enc({ plugins: [] })), /^error parsing configuration list: no name$/);
  assert.throws(() => parseConfList(enc({ name: 5 })), /^error parsing configuration list: invalid name type float64$/);
  assert.throws(
    () => parseConfList(list({ cniVersion: 1 })),
    /^error parsing configuration list: invalid cniVersion type float64$/,
  );
  assert.throws(
    () => parseConfList(list({ plugins: {} })),
    /^error parsing configuration list: invalid 'plugins' type map\[string\]interface \{\}$/,
  );
  assert.throws(() => parseConfList(list({ plugins: [] })), /^error parsing configuration list: no plugins in list$/);
  assert.throws(
    () => parseConfList(list({ plugins: [{ type: 'a' }, { bridge: 'x' }] })),
    /^failed to parse plugin config 1: error parsing configuration: missing 'type'$/,
  );
  assert.throws(
    () => parseConfList(list({ plugins: [{ type: 'a', capabilities: { x: 'y' } }] })),
    /^failed to parse plugin config 0: error parsing configuration: json: cannot unmarshal string into Go struct field NetConf\.capabilities of type bool$/,
  );
  assert.throws(
    () => parseConfList(list({ loadOnlyInlinedPlugins: true, plugins: undefined })),
    /`loadOnlyInlinedPlugins` is true, and no 'plugins' key/,
  );
  assert.throws(
    () => parseConfList(enc('{"name":"net","plugins":[')),
    /^error parsing configuration list: unexpected end of JSON input$/,
  );
  assert.throws(() => parseConfList(enc('[]')), /^error parsing configuration list: json: cannot unmarshal array/);
});

C('plugin keys are case-insensitive where libcni decodes them (type, capabilities)', () => {
  const l = parseConfList(list({ plugins: [{ TYPE: 'bridge', Capabilities: { portMappings: true } }] }));
  assert.is(l.plugins[0]!.network.type, 'bridge');
  assert.equal(l.plugins[0]!.network.capabilities, { portMappings: true });
});

C('a legacy .conf is wrapped as a one-plugin list', () => {
  const l = parseConfAsList(enc({ cniVersion: '0.4.0', name: 'old', type: 'bridge', bridge: 'br9' }));
  assert.is(l.name, 'old');
  assert.is(l.cniVersion, '0.4.0');
  assert.equal(l.plugins[0]!.raw, { bridge: 'br9', cniVersion: '0.4.0', name: 'old', type: 'bridge' });
  assert.equal(JSON.parse(new TextDecoder().decode(l.bytes)).plugins[0].bridge, 'br9');
  assert.throws(() => parseConfAsList(enc({ name: 'old' })), /^error parsing configuration: missing 'type'$/);
});

C('directory: by name, .conflist before .conf/.json, lexical order, subdirectories ignored', () => {
  const dir = sb.dir('netd');
  writeFileSync(
    join(dir, '20-b.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'bridge' }] }),
  );
  writeFileSync(
    join(dir, '10-a.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'bridge' }] }),
  );
  writeFileSync(join(dir, '05-a.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'a', type: 'loopback' }));
  writeFileSync(join(dir, '30-c.json'), JSON.stringify({ cniVersion: '0.3.1', name: 'c', type: 'loopback' }));
  writeFileSync(join(dir, 'README.md'), 'not a config');
  mkdirSync(join(dir, 'sub.conflist'));
  assert.equal(
    confFiles(dir, ['.conf', '.conflist', '.json']).map((f) => f.slice(dir.length + 1)),
    ['05-a.conf', '10-a.conflist', '20-b.conflist', '30-c.json'],
  );
  assert.is(loadNetworkByName(dir, 'a').plugins[0]!.network.type, 'bridge'); // the list wins over the .conf
  assert.is(loadNetworkByName(dir, 'c').cniVersion, '0.3.1');
  assert.throws(() => loadNetworkByName(dir, 'zz'), new RegExp(`^no net configuration with name "zz" in ${dir}$`));
  assert.throws(() => loadNetworkByName(join(dir, 'missing'), 'a'), /^no net configurations found in /);
  // Default network: first file of any kind (a .conf sorts first here).
  assert.is(loadDefaultNetwork(dir).list.name, 'a');
  assert.is(loadDefaultNetwork(dir).file, join(dir, '05-a.conf'));
});

C('directory: an unparsable file stops a name search; skipInvalid picks the first valid default', () => {
  const dir = sb.dir('netd-bad');
  writeFileSync(join(dir, '10-bad.conflist'), '{"name":"x","plugins":[{"type":');
  writeFileSync(
    join(dir, '20-good.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'good', plugins: [{ type: 'bridge' }] }),
  );
  assert.throws(
    () => loadNetworkByName(dir, 'good'),
    /^error parsing configuration list: unexpected end of JSON input$/,
  );
  assert.throws(() => loadDefaultNetwork(dir), /^10-bad\.conflist: /);
  assert.is(loadDefaultNetwork(dir, { skipInvalid: true }).list.name, 'good');
});

C('the per-network plugin directory is appended unless loadOnlyInlinedPlugins', () => {
  const dir = sb.dir('netd-inline');
  mkdirSync(join(dir, 'n1'));
  writeFileSync(join(dir, 'n1', '2-tuning.conf'), JSON.stringify({ type: 'tuning' }));
  writeFileSync(join(dir, 'n1', '1-portmap.conf'), JSON.stringify({ type: 'portmap' }));
  writeFileSync(join(dir, 'n1', 'ignored.json'), JSON.stringify({ type: 'nope' }));
  writeFileSync(
    join(dir, 'a.conflist'),
    JSON.stringify({ cniVersion: '1.1.0', name: 'n1', plugins: [{ type: 'bridge' }] }),
  );
  assert.equal(
    loadConfFile(join(dir, 'a.conflist')).plugins.map((p) => p.network.type),
    ['bridge', 'portmap', 'tuning'],
  );
  writeFileSync(
    join(dir, 'b.conflist'),
    JSON.stringify({ cniVersion: '1.1.0', name: 'n1', loadOnlyInlinedPlugins: true, plugins: [{ type: 'bridge' }] }),
  );
  assert.equal(
    loadConfFile(join(dir, 'b.conflist')).plugins.map((p) => p.network.type),
    ['bridge'],
  );
  // A list without a plugins key takes them all from the directory.
  writeFileSync(join(dir, 'c.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'n1' }));
  assert.equal(
    loadConfFile(join(dir, 'c.conflist')).plugins.map((p) => p.network.type),
    ['portmap', 'tuning'],
  );
  writeFileSync(join(dir, 'd.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'empty' }));
  assert.throws(() => loadConfFile(join(dir, 'd.conflist')), /^no plugin configs found$/);
});

C.run();
