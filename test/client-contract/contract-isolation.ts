// Tenancy: another client's photo does not exist for you, whatever you call.

import * as assert from 'node:assert/strict';
import { rejectsWithCode } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import type { ContractCheck } from './client-contract';

export const isolationChecks: Record<string, ContractCheck> = {
  "another tenant gets NOT_FOUND for every call on acme's photo": async (_t, env) => {
    const acme = env.client('acme');
    const rival = env.client('rival');
    const stored = await acme.storePhoto(pngBytes(4096), { originalName: 'secret-plans.png', clientId: 'acme', userId: 'shared-user' });

    await rejectsWithCode(rival.getPhoto(stored.id), 'NOT_FOUND');
    await rejectsWithCode(rival.getPhotoUrl(stored.id), 'NOT_FOUND');
    await rejectsWithCode(rival.readPhoto(stored.id), 'NOT_FOUND');
    await rejectsWithCode(rival.readPhoto(stored.id, { start: 0, end: 0 }), 'NOT_FOUND');
    await rejectsWithCode(rival.updatePhotoMetadata(stored.id, { processing_status: 'in_progress' }), 'NOT_FOUND');
    await rejectsWithCode(rival.deletePhoto(stored.id), 'NOT_FOUND');
    assert.equal((await rival.searchPhotos({ query: 'secret' })).total, 0);
    assert.equal((await rival.searchPhotos({ filters: { client_id: 'acme' } })).total, 0);
    assert.equal((await rival.getUserPhotos('shared-user')).pagination.total, 0);

    const photo = await acme.getPhoto(stored.id);
    assert.equal(photo.processing_status, 'queued');
    assert.equal((await acme.searchPhotos({ query: 'secret' })).total, 1);
  },

  "a store naming another tenant's clientId is refused": async (_t, env) => {
    const rival = env.client('rival');
    await rejectsWithCode(rival.storePhoto(pngBytes(100), { originalName: 'x.png', clientId: 'acme' }), 'VALIDATION', /clientId/);
  },
};
