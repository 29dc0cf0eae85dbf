/* Anchor so the test-support library is never empty; the support code lives next to it. */
int toride_test_support_anchor;
