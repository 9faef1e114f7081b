// The checked-in OpenAPI document and the contract's ROUTES must describe the
// same gateway: every route documented with its method, nothing documented
// that is not a route, and the statuses a route can answer listed.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { OPENAPI_PATH } from '../../src/daemon/gateway/gateway';
import { HTTP_STATUS_BY_CODE, ROUTES } from '../../src/protocol/http-api';

const doc = JSON.parse(fs.readFileSync(OPENAPI_PATH, 'utf8'));
const openapiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

test('the document is OpenAPI 3.1 with bearer security', () => {
  assert.match(doc.openapi, /^3\.1\./);
  assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
});

test('every route is documented with its method and operation, and every documented operation is a route', () => {
  const documented = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, { operationId: string }>>(doc.paths)) {
    for (const [method, op] of Object.entries(item)) documented.add(`${method.toUpperCase()} ${path} ${op.operationId}`);
  }
  const routes = new Set(ROUTES.map((r) => `${r.method} ${openapiPath(r.path)} ${r.op}`));
  assert.deepEqual([...documented].sort(), [...routes].sort());
});

test('authenticated routes list 401, the admin route 403, and every listed status is one the gateway answers', () => {
  const known = new Set([200, 201, 204, 206, 304, 405, 414, ...Object.values(HTTP_STATUS_BY_CODE)].map(String));
  for (const route of ROUTES) {
    const op = doc.paths[openapiPath(route.path)][route.method.toLowerCase()];
    const statuses = Object.keys(op.responses);
    for (const status of statuses) assert.ok(known.has(status), `${route.method} ${route.path} lists ${status}`);
    const success = route.op === 'storePhoto' ? '201' : route.op === 'deletePhoto' ? '204' : '200';
    assert.ok(statuses.includes(success), `${route.method} ${route.path} lacks ${success}`);
    if (route.auth !== 'none') assert.ok(statuses.includes('401'), `${route.method} ${route.path} lacks 401`);
    else assert.deepEqual(op.security, [], `${route.path} needs no token, so it must say so`);
    if (route.auth === 'admin') assert.ok(statuses.includes('403'), `${route.path} lacks 403`);
  }
  const content = doc.paths['/photos/{id}/content'].get.responses;
  for (const status of ['206', '304', '416']) assert.ok(content[status], `content route lacks ${status}`);
  for (const status of ['413', '415']) assert.ok(doc.paths['/photos'].post.responses[status], `store lacks ${status}`);
});

test('every $ref points at something defined', () => {
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/[^"]+"/g) ?? [];
  assert.ok(refs.length > 0);
  for (const ref of refs) {
    const parts = ref.slice('"$ref":"#/'.length, -1).split('/');
    let node = doc;
    for (const part of parts) node = node?.[part];
    assert.ok(node !== undefined, `${ref} is not defined`);
  }
});
