import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./index.js";

test("renders the page", () => assert.match(page(), /BUY!/));
