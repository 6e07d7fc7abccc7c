/**
 * generateSampleImagery on a worker thread (server/sample.ts renderSampleImagery): its pixel loops run for
 * seconds, and on the main thread they stalled every request of a server that had just said it was running.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateSampleImagery, type SampleImageryOptions } from './imagery';

parentPort!.postMessage(await generateSampleImagery(workerData as SampleImageryOptions));
