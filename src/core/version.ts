// The version reported in Hello and `ah --version`; kept in step with package.json by a test.
export const AH_VERSION = '0.1.0';
