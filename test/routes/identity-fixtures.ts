/**
 * Users for the forward-auth identity header tests: names and groups in several scripts, with the list
 * separator, semicolons, quotes, "%", edge spaces and control characters.
 */
import type { IdpUser } from '../helpers/idp.js';

/** Users whose claims exercise every kind of value a header cannot carry as it is. */
export const UNUSUAL_USERS: IdpUser[] = [
  {
    sub: 'иван',
    email: 'иван@пример.рф',
    preferredUsername: 'Иван Петров',
    name: 'Иван Петров',
    groups: ['администраторы', 'a,b', 'x;y', 'plain'],
  },
  { sub: '山田太郎', email: 'yamada@example.jp', preferredUsername: '山田', name: '山田 太郎', groups: ['開発チーム', '管理者,全員'] },
  { sub: 'محمد', email: 'mohammed@example.sa', preferredUsername: 'محمد علي', name: 'محمد علي', groups: ['مدراء', 'فريق التطوير'] },
  {
    sub: 'fox-🦊',
    email: 'fox@example.com',
    preferredUsername: ' 🦊 "the fox" it\'s 100% ',
    name: '🦊',
    groups: ['🚀 team', 'quote"d', "it's", '100%', 'tab\there', 'line\r\nbreak', 'nul\u0000x', 'del\u007f', ' padded '],
  },
];
