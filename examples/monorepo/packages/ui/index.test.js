import assert from "node:assert/strict";
import { test } from "node:test";
import { button } from "./index.js";

test("renders a button", () => assert.equal(button("go"), "<button>GO!</button>"));
