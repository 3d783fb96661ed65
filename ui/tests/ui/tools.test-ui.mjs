// UI tests: a connection's Tools section (connection_tools, setup_tool, remove_tool).

import assert from 'node:assert/strict';
import { calls, shot } from './harness.mjs';
import { heading, test, withApp } from './common.mjs';

/** Opens a connection's page from the list and waits for its Tools section. */
async function openTools(page, who, name) {
  await page.getByRole('button', { name: `View ${who}` }).click();
  await heading(page, name);
  const tools = page.getByTestId('tools');
  await tools.locator('[data-tool="cargo"]').waitFor();
  return tools;
}

test('tools: every tool with what is set up, suggestions prefilled, the last hand-outs', withApp({}, async (page) => {
  const tools = await openTools(page, 'GitHub alice-martin', 'GitHub');
  assert.deepEqual(
    await tools.locator('[data-tool]').evaluateAll((els) => els.map((e) => e.dataset.tool)),
    ['git', 'aws', 'kubectl', 'docker', 'terraform', 'cargo'],
  );
  assert.deepEqual((await calls(page, 'connection_tools')).map((c) => c.args), [{ id: 'c_gh01' }]);

  const git = tools.getByRole('group', { name: 'git' });
  await git.getByText('Set up for github.com').waitFor();
  await git.locator('li[data-target="github.com"]').getByText('/home/alice/.gitconfig').waitFor();
  // The catalog's next host is prefilled; git may also be left empty (every host).
  assert.equal(await git.getByLabel('Host (optional)').inputValue(), 'gist.github.com');
  await git.getByText(/Empty: every host git uses for this provider \(github\.com, gist\.github\.com\)/).waitFor();
  // Last hand-outs: time, program, parent program.
  const rows = git.getByRole('table', { name: 'Last hand-outs' }).locator('tbody tr');
  assert.equal(await rows.count(), 2);
  await rows.first().getByText('keyhaven-main').waitFor();
  await rows.first().getByText('git-remote-https').waitFor();

  await tools.getByRole('group', { name: 'AWS' }).getByText(/Not for this connection: a github connection holds no AWS access key/).waitFor();
  assert.equal(await tools.getByRole('button', { name: 'Set up AWS' }).count(), 0, 'no setup where it cannot work');
  await tools.getByRole('group', { name: 'kubectl' }).getByText('None yet.').waitFor();

  const docker = tools.getByRole('group', { name: 'Docker' });
  assert.equal(await docker.getByLabel('Registry').inputValue(), 'ghcr.io');
  await docker.getByText('Not set up').waitFor();
  await shot(page, 'viewer-tools-light');

  await docker.getByRole('button', { name: 'Set up Docker' }).click();
  await page.getByText('Docker set up for ghcr.io (/home/alice/.docker/config.json).').waitFor();
  await page.getByText(/\.local\/bin is not on PATH/).waitFor();
  await docker.getByText('Set up for ghcr.io').waitFor();
  await docker.getByRole('button', { name: 'Remove Docker setup for ghcr.io' }).waitFor();
  assert.deepEqual((await calls(page, 'setup_tool')).map((c) => c.args), [
    { id: 'c_gh01', tool: 'docker', target: 'ghcr.io', options: { region: null, api_version: null } },
  ]);
  // The page's activity is read again (the setup is audited).
  assert.ok((await calls(page, 'audit_list')).length >= 2);
}));

test('tools: remove, a required target, refusals explained, a declined confirmation is quiet', withApp({}, async (page) => {
  const tools = await openTools(page, 'GitHub alice-martin', 'GitHub');
  const git = tools.getByRole('group', { name: 'git' });
  await git.getByRole('button', { name: 'Remove git setup for github.com' }).click();
  await page.getByText('git no longer takes credentials from this connection for github.com.').waitFor();
  await git.getByText('Not set up').waitFor();
  assert.deepEqual((await calls(page, 'remove_tool')).map((c) => c.args), [{ tool: 'git', target: 'github.com' }]);

  // git with the host emptied: every host the catalog names.
  await git.getByLabel('Host (optional)').fill('');
  await git.getByRole('button', { name: 'Set up git' }).click();
  await git.getByText('Set up for github.com, gist.github.com').waitFor();
  assert.equal((await calls(page, 'setup_tool'))[0].args.target, null);

  // kubectl needs its context before Set up can be pressed.
  const kube = tools.getByRole('group', { name: 'kubectl' });
  const kubeSetUp = kube.getByRole('button', { name: 'Set up kubectl' });
  assert.ok(await kubeSetUp.isDisabled(), 'no context, no setup');
  await kube.getByLabel('Context').fill('prod');
  await kube.getByLabel('API version (optional)').fill('client.authentication.k8s.io/v1beta1');
  await kube.getByLabel('Context').press('Enter');
  await kube.getByText('Set up for prod').waitFor();
  assert.deepEqual((await calls(page, 'setup_tool'))[1].args, {
    id: 'c_gh01', tool: 'kubectl', target: 'prod', options: { region: null, api_version: 'client.authentication.k8s.io/v1beta1' },
  });

  // What core refuses is explained in the row, with its message.
  const tf = tools.getByRole('group', { name: 'Terraform' });
  await tf.getByLabel('Host').fill('not a host');
  await tf.getByRole('button', { name: 'Set up Terraform' }).click();
  const problem = tf.getByRole('alert');
  await problem.getByText('Some values are not accepted').waitFor();
  await problem.getByText(/"not a host" is not a host/).waitFor();

  // Declined in the native confirmation: a quiet notice, no error, nothing set up.
  await page.evaluate(() => window.__mock.decline('setup_tool'));
  const cargo = tools.getByRole('group', { name: 'cargo' });
  await cargo.getByLabel('Registry name').fill('my-registry');
  await cargo.getByRole('button', { name: 'Set up cargo' }).click();
  await page.getByText('cargo was not set up.').waitFor();
  assert.equal(await cargo.getByRole('alert').count(), 0, 'declining is not an error');
  await cargo.getByText('Not set up').waitFor();
}));

test('tools: an AWS profile with its region', withApp({}, async (page) => {
  const tools = await openTools(page, 'Amazon Web Services arn:aws:iam::123456789012:user/deploy', 'Amazon Web Services');
  const aws = tools.getByRole('group', { name: 'AWS' });
  await aws.getByText('Set up for deploy').waitFor();
  await aws.getByRole('table', { name: 'Last hand-outs' }).getByText('aws', { exact: true }).waitFor();
  assert.equal(await aws.getByLabel('Profile').inputValue(), '', 'nothing suggested for a profile');
  await aws.getByLabel('Profile').fill('work');
  await aws.getByLabel('Region (optional)').fill('eu-central-1');
  await aws.getByRole('button', { name: 'Set up AWS' }).click();
  await aws.getByText('Set up for deploy, work').waitFor();
  assert.deepEqual((await calls(page, 'setup_tool'))[0].args, {
    id: 'c_aw01', tool: 'aws', target: 'work', options: { region: 'eu-central-1', api_version: null },
  });
}));
