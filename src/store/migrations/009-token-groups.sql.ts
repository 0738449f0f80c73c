// The groups an API token's holder is in (JSON array of names), set by an
// admin when the token is made: approval gates (`approval.from`) count an
// approval given through the server by these groups, not by groups a person
// declares for themselves.
export default `
ALTER TABLE api_tokens ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
`;
