// Words for seeded posts: sentences an agency's social team writes, combined two or three at a time (and a
// hashtag), so texts vary in length and wording without a generator of their own. All under the
// Sandbox network's 1,000 characters even when three long ones meet.
export const SENTENCES = [
  'Our spring collection is here, and it is lighter than ever.',
  'Meet the team behind this week\'s launch.',
  'Doors open at nine: come early for the first fifty coffees on us.',
  'Thank you for 10,000 followers!',
  'We asked our customers what they wanted next. Here is what they said.',
  'A quick guide to getting more from your subscription.',
  'New in the shop: recycled packaging for every order.',
  'Tickets for the autumn meetup go on sale on Monday.',
  'Behind the scenes of our photo shoot in Lisbon.',
  'Five things we learned from a year of remote work.',
  'Our support team now answers in six languages.',
  'Free delivery this weekend on everything in the sale.',
  'We are hiring designers, writers and one very patient project manager.',
  'Read the full story on our blog, link in bio.',
  'Live Q&A with our founder tomorrow at 6 pm.',
  'This one took us three prototypes and a lot of tea.',
  'Customer of the month: a bakery that ships sourdough across the country.',
  'The waiting list is open again.',
  'Small update today: the app now remembers your last search.',
  'Every order this week plants a tree with our partners.',
  'Our new store in Berlin opens its doors on Saturday.',
  'Tap the link to see the full lookbook.',
  'What should we make next? Vote in the comments.',
  'A reminder that our offices are closed on Friday.',
  'We fixed the bug that some of you saw on Tuesday: sorry, and thank you for the reports.',
  'Three recipes for a rainy Sunday, all under thirty minutes.',
  'The numbers are in: our best quarter yet, thanks to you.',
  'Join us at the trade fair, hall 4, stand B12.',
  'A new chapter for our brand starts today.',
  'Sign up before midnight to keep the early-bird price.',
  'Our sustainability report for the year is out now.',
  'Made by hand, in small batches, in the same workshop since 1987.',
];

export const TAGS = ['#newin', '#behindthescenes', '#teamwork', '#sale', '#launch', '#community', '#sustainability', '#tips', '#events', '#hiring', '#thankyou', '#weekend'];

/**
 * What people write under an agency's posts and when they mention a brand, and the team's answers: one or
 * two at a time. Some are questions (the inbox's question filter), some carry the words a search looks for.
 */
export const COMMENTS = [
  'Love this!',
  'When does the sale end?',
  'Is this available in blue?',
  'My order has not arrived yet, can someone help?',
  'Great work, team.',
  'Do you ship to Canada?',
  'This is exactly what I needed.',
  'How do I get a refund for a damaged parcel?',
  'The link in your bio is broken.',
  'Can I still get tickets for the meetup?',
  'Beautiful photos from Lisbon.',
  'Still waiting for a reply to my email from last week.',
  'Any discount codes for students?',
  'Congratulations on the new store!',
  'Which size would you recommend for a tall person?',
  'The app keeps crashing since the update.',
  'Thank you, the support team was brilliant.',
  'Are the boxes really recyclable?',
  'Is the Berlin store open on Sundays?',
  'Following for the next drop.',
  'Thanks for getting back to us, we have sent you a direct message.',
  'Sorry to hear that: our support team will look into your order today.',
  'Yes, we ship worldwide, with free delivery over 50 euros.',
  'Glad you like it!',
];
