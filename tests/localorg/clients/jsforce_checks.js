// Drives a served local org with jsforce 3, unchanged, and prints one JSON object of what it saw.
// Run by tests/localorg/test_clients_jsforce.py: node jsforce_checks.js (env: JSFORCE_DIR, SF_INSTANCE_URL,
// SF_ACCESS_TOKEN, NODE_EXTRA_CA_CERTS). Each step's outcome (or its error) is reported under its name.
'use strict';
const path = require('path');
const { Connection } = require(path.join(process.env.JSFORCE_DIR, 'node_modules', 'jsforce'));

const conn = new Connection({
  instanceUrl: process.env.SF_INSTANCE_URL,
  accessToken: process.env.SF_ACCESS_TOKEN,
  version: '62.0',
});

async function step(out, name, fn) {
  try {
    out[name] = await fn();
  } catch (err) {
    out[name] = { error: { name: err.name, errorCode: err.errorCode, message: String(err.message) } };
  }
}

async function main() {
  const out = {};
  await step(out, 'identity', async () => {
    const id = await conn.identity();
    return { user_id: id.user_id, organization_id: id.organization_id, username: id.username };
  });
  await step(out, 'query_autofetch', async () => {
    const result = await conn.query('SELECT Id, LastName FROM Contact', { autoFetch: true, maxFetch: 100000 });
    return { totalSize: result.totalSize, fetched: result.records.length, done: result.done,
             distinct: new Set(result.records.map((r) => r.Id)).size };
  });
  await step(out, 'subquery', async () => {
    const result = await conn.query(
      'SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name LIMIT 50');
    const withChildren = result.records.filter((r) => r.Contacts !== null);
    return { parents: result.records.length, withChildren: withChildren.length,
             nullChildren: result.records.filter((r) => r.Contacts === null).length,
             first: withChildren.length ? withChildren[0].Contacts : null };
  });
  await step(out, 'crud', async () => {
    const account = conn.sobject('Account');
    const created = await account.create({ Name: 'jsforce Account', Description: 'made by jsforce' });
    const updated = await account.update({ Id: created.id, Description: 'changed by jsforce' });
    const read = await account.retrieve(created.id);
    const deleted = await account.destroy(created.id);
    let afterDelete = null;
    try {
      await account.retrieve(created.id);
    } catch (err) {
      afterDelete = err.errorCode || err.name;
    }
    return { created, updated, description: read.Description, deleted, afterDelete };
  });
  await step(out, 'collections', async () => {
    const results = await conn.sobject('Account').create(
      [{ Name: 'jsforce Coll A' }, { Description: 'no name' }, { Name: 'jsforce Coll B' }], { allOrNone: false });
    return results;
  });
  await step(out, 'bulk2_query', async () => {
    const stream = await conn.bulk2.query('SELECT Id, LastName FROM Contact');
    const records = await stream.toArray();
    return { count: records.length, columns: records.length ? Object.keys(records[0]).sort() : [] };
  });
  await step(out, 'bulk2_ingest', async () => {
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account', operation: 'insert', pollTimeout: 60000, pollInterval: 500,
      input: 'Name,Description\njsforce Bulk 1,one\njsforce Bulk 2,two\n,missing name\n',
    });
    return { successful: res.successfulResults.length, failed: res.failedResults.length,
             unprocessed: res.unprocessedRecords.length,
             failedError: res.failedResults.length ? res.failedResults[0].sf__Error : null };
  });
  await step(out, 'describe', async () => {
    const d = await conn.sobject('Account').describe();
    const description = d.fields.find((f) => f.name === 'Description');
    return { name: d.name, keyPrefix: d.keyPrefix,
             description: description ? { type: description.type, updateable: description.updateable } : null,
             children: d.childRelationships.map((c) => c.relationshipName).filter(Boolean) };
  });
  await step(out, 'limits', async () => {
    const limits = await conn.limits();
    return { names: Object.keys(limits).length, daily: limits.DailyApiRequests };
  });
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ fatal: String(err && err.stack || err) }));
  process.exitCode = 1;
});
