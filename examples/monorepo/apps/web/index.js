import { button } from "../../packages/ui/index.js";
export const page = () => `<main>${button("buy")}</main>`;
