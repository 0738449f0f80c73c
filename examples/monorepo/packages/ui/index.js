import { shout } from "../util/index.js";
export const button = (label) => `<button>${shout(label)}</button>`;
