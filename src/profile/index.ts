// The profile engine: a pure data model shared by the servers and the browser app. It imports
// nothing from the network or the DOM.
export * from './frames.js';
export * from './calltree.js';
export * from './workload.js';
export * from './profile-type.js';
export * from './workload-profile.js';
export * from './flame.js';
export * from './symbols.js';
export * from './folded.js';
